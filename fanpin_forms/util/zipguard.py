"""Open a zip container (.xlsx, .docx) only when unpacking it cannot exhaust memory.

Everything is decided from the zip's directory, before a byte is decompressed:

* the entry count and the directory size, from the end record, before
  :class:`zipfile.ZipFile` builds one object per entry;
* each entry's uncompressed size, their total, and the ratio of uncompressed to
  compressed size (a zip bomb packs thousands to one).

A directory that understates an entry's size cannot smuggle more data past these
checks: :mod:`zipfile` stops decompressing an entry at the size its directory
states (and then fails its CRC check), so what is read is never more than what
was checked.
"""

from __future__ import annotations

import zipfile
from typing import IO

from . import limits
from .limits import human_bytes

__all__ = ["ZipLimitError", "check_zip", "safe_zip"]

#: bytes of central directory allowed per entry (46 fixed + name + extra fields)
_DIRECTORY_BYTES_PER_ENTRY = 1024


class ZipLimitError(Exception):
    """The zip would unpack beyond a cap. ``why`` says which, in Chinese, for the message."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _check_end_record(fh: IO[bytes]) -> None:
    """Refuse a zip whose directory alone is too big, before it is parsed."""
    end = zipfile._EndRecData(fh)  # noqa: SLF001 - the stdlib's own end-record reader
    if end is None:
        return  # not a zip: ZipFile raises BadZipFile, and the caller says so
    entries = end[zipfile._ECD_ENTRIES_TOTAL]  # noqa: SLF001
    directory = end[zipfile._ECD_SIZE]  # noqa: SLF001
    if entries > limits.ZIP_MAX_ENTRIES or directory > limits.ZIP_MAX_ENTRIES * _DIRECTORY_BYTES_PER_ENTRY:
        raise ZipLimitError(f"压缩包内有 {entries} 个条目，上限 {limits.ZIP_MAX_ENTRIES} 个")


def check_zip(zf: zipfile.ZipFile) -> None:
    """Raise :class:`ZipLimitError` if unpacking ``zf`` would pass a cap in :mod:`limits`."""
    infos = zf.infolist()
    if len(infos) > limits.ZIP_MAX_ENTRIES:
        raise ZipLimitError(f"压缩包内有 {len(infos)} 个条目，上限 {limits.ZIP_MAX_ENTRIES} 个")
    total = 0
    for info in infos:
        size = info.file_size
        if size > limits.ZIP_MAX_ENTRY_BYTES:
            raise ZipLimitError(f"其中「{info.filename}」解压后有 {human_bytes(size)}，"
                                f"单个条目上限 {human_bytes(limits.ZIP_MAX_ENTRY_BYTES)}")
        if size >= limits.ZIP_RATIO_FROM_BYTES and size > limits.ZIP_MAX_RATIO * max(info.compress_size, 1):
            ratio = size // max(info.compress_size, 1)
            raise ZipLimitError(f"其中「{info.filename}」的压缩比为 {ratio}:1，上限 {limits.ZIP_MAX_RATIO}:1")
        total += size
    if total > limits.ZIP_MAX_TOTAL_BYTES:
        raise ZipLimitError(f"解压后共 {human_bytes(total)}，上限 {human_bytes(limits.ZIP_MAX_TOTAL_BYTES)}")


def safe_zip(source: IO[bytes]) -> zipfile.ZipFile:
    """Open the zip in the seekable binary stream ``source`` for reading, checked.

    Raises :class:`ZipLimitError` for a zip beyond the caps, and what
    :class:`zipfile.ZipFile` raises (``BadZipFile`` ...) for one that is broken."""
    _check_end_record(source)
    source.seek(0)
    zf = zipfile.ZipFile(source)
    try:
        check_zip(zf)
    except ZipLimitError:
        zf.close()
        raise
    return zf
