"""The installation's secret key: it authenticates the QR code printed on every form.

A form's QR code says which household it belongs to. Anyone can print a QR code, so
its payload carries an HMAC made with a key only this installation knows
(:mod:`fanpin_forms.render.qr`); a code made elsewhere, or edited, does not verify
and its page goes to review instead of being filed under the household it claims.

Where the key lives (the first that applies):

1. ``$FANPIN_FORMS_SECRET_FILE``: a file given explicitly, e.g. one key shared by
   the machines of a county that print and read each other's forms;
2. ``$FANPIN_FORMS_HOME/secret``;
3. the platform's user data folder: ``$XDG_DATA_HOME/fanpin-forms/secret``
   (``~/.local/share/fanpin-forms/secret`` on Linux), ``~/Library/Application
   Support/fanpin-forms/secret`` on macOS, ``%APPDATA%\\fanpin-forms\\secret`` on Windows.

The file is made on first use: 32 random bytes from :mod:`secrets`, hex-encoded,
readable and writable by its owner only (mode 0600). It is written under a temporary
name and linked into place, so two processes starting at once agree on one key and
never read a half-written file. A key file that others may read is refused on
POSIX systems (whoever reads it can forge forms): ``chmod 600`` fixes it.

Losing the file means forms printed before can no longer be verified (they are
read, but every page goes to review); keep a copy with the county's backups.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from ..errors import Code, FanpinError

SECRET_FILE_ENV = "FANPIN_FORMS_SECRET_FILE"
HOME_ENV = "FANPIN_FORMS_HOME"
#: bytes of randomness in a new key
KEY_BYTES = 32

_CACHE: dict[str, bytes] = {}


def data_dir() -> Path:
    """The platform's per-user data folder for fanpin-forms (no file is made here)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "fanpin-forms"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "fanpin-forms"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "fanpin-forms"


def secret_path() -> Path:
    """Where this installation's key is (or will be made)."""
    given = os.environ.get(SECRET_FILE_ENV)
    return Path(given).expanduser() if given else data_dir() / "secret"


def installation_key() -> bytes:
    """This installation's key, made on first use. Raises :class:`FanpinError`
    (``SECRET_*``) when the file cannot be made or read, or others may read it."""
    path = secret_path()
    cached = _CACHE.get(str(path))
    if cached is not None:
        return cached
    if not path.exists():
        _create(path)
    key = _read(path)
    _CACHE[str(path)] = key
    return key


def _create(path: Path) -> None:
    """Write a new key to a private temporary file and link it into place: the first
    process wins, a second one finds the file and reads that key."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    except OSError as exc:
        raise FanpinError.of(Code.SECRET_CREATE, path=str(path), why=exc.strerror or exc) from exc


def _read(path: Path) -> bytes:
    try:
        info = path.stat()
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise FanpinError.of(Code.SECRET_OPEN, path=str(path), mode=f"{stat.S_IMODE(info.st_mode):04o}")
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "不是文本文件"
        raise FanpinError.of(Code.SECRET_UNREADABLE, path=str(path), why=why) from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise FanpinError.of(Code.SECRET_UNREADABLE, path=str(path),
                             why="内容应为至少 32 位十六进制字符（由程序自动生成）")
    return key


__all__ = ["HOME_ENV", "SECRET_FILE_ENV", "data_dir", "installation_key", "secret_path"]
