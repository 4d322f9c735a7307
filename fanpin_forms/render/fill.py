"""Filling templates fast: Jinja compiled once, each DOCX written into a prebuilt zip.

The naive way (a new ``DocxTemplate`` per record → render → save) re-parses the
package every time (~40 ms a form). :class:`CompiledTemplate` instead

* runs docxtpl's own ``patch_xml`` once on each templated part (``document.xml``,
  headers, footers), so tags Word split across runs still work, and compiles it with
  a sandboxed, autoescaping Jinja environment;
* keeps every other zip entry, already compressed, in a prebuilt zip;
* per document renders the templated parts, makes the QR image and appends just those
  entries to a copy of the prebuilt zip.

The text of the result is the same as docxtpl's (a test compares them). Files are
written atomically: a temporary file in the same folder, then ``os.replace``; a failure
or Ctrl-C leaves no partial ``.docx`` and no temporary file.

Autoescape is on: without it docxtpl silently drops everything from a ``&`` or ``<``
on (``张三&李四`` → ``张三``). The sandbox refuses ``{{ ''.__class__.__mro__ }}`` and the
like in a county's template, and keeps each form within :data:`~fanpin_forms.util.limits.RENDER_SECONDS_PER_FORM`
and :data:`~fanpin_forms.util.limits.RENDER_MAX_BYTES_PER_FORM` (see :mod:`.sandbox`). A template is checked
when it is loaded (:mod:`.docxsafe`: zip bombs, DTDs, external links, field codes that
would send a value out), so a dangerous template is never filled.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import io
import multiprocessing
import os
import re
import signal
import zipfile
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..util.atomic import (
    commit_staged, ensure_dir, name_bytes, name_limit, new_token, sweep_stale, sweep_temp, write_atomic,
    write_staged,
)
from ..util import limits
from ..errors import Code, FanpinError, Problem, RenderError
from ..forms.model import FormSpec
from . import names as N
from .docxsafe import read_package
from .qr import qr_png
from .sandbox import Budget, LimitedSandbox, LimitExceeded, budget


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER_TYPES = ("/header", "/footer")
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
#: batches smaller than this are written in-process (a pool costs ~0.1 s to start)
POOL_THRESHOLD = 48
CHUNK = 16
IN_FLIGHT = 3  # chunks queued per worker: keeps both cores busy without holding the whole batch

_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
_LISTING_CHARS = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\f\n]")
_BOOKMARK = re.compile(r"<w:bookmark(?:Start|End)\b[^>]*/>")
_DIGIT_RUN = re.compile(r"\d{6,}[\dXx]*")
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class _NoSelf:
    """docxtpl's patch_xml/resolve_listing/fix_tables never touch ``self``."""


def _patch_xml(xml: str) -> str:
    from docxtpl import DocxTemplate

    return DocxTemplate.patch_xml(_NoSelf(), xml)  # type: ignore[arg-type]


def _resolve_listing(xml: str) -> str:
    from docxtpl import DocxTemplate

    return DocxTemplate.resolve_listing(_NoSelf(), xml)  # type: ignore[arg-type]


def make_env() -> SandboxedEnvironment:
    """The one Jinja environment for every template: sandboxed with limits, autoescaping, strict."""
    return LimitedSandbox(autoescape=True, undefined=jinja2.StrictUndefined)


def template_label(source: Path | bytes | str | None) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return "（内置模板）"


def _near(xml: str, lineno: int | None) -> str:
    if not lineno:
        return ""
    lines = xml.splitlines()
    chunk = " ".join(lines[max(0, lineno - 2): lineno + 1])
    text = re.sub(r"<[^>]+>", "", chunk)
    return text[:60]


def render_error(exc: Exception, label: str, source_xml: str | None = None) -> RenderError:
    """A Jinja exception as our RenderError with a clear Chinese message."""
    if isinstance(exc, SecurityError):
        return RenderError.of(Code.RENDER_TEMPLATE_UNSAFE, path=label, why=str(exc))
    if isinstance(exc, jinja2.UndefinedError):
        name = re.search(r"'([^']+)' is undefined", str(exc))
        return RenderError.of(Code.RENDER_TEMPLATE_UNKNOWN_VAR, path=label, name=name.group(1) if name else str(exc),
                              hint="")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return RenderError.of(Code.RENDER_TEMPLATE_SYNTAX, path=label, why=exc.message or str(exc),
                              near=_near(source_xml or "", exc.lineno))
    return RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=label, why=str(exc))


@dataclass
class _Part:
    name: str  # zip entry, e.g. word/document.xml
    template: jinja2.Template
    source: str  # patched XML (for messages)


class CompiledTemplate:
    """A DOCX template ready to fill many times. ``source``: a path or the DOCX bytes."""

    def __init__(self, source: Path | str | bytes, *, label: str | None = None):
        self.label = label or template_label(source)
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise RenderError.of(Code.RENDER_TEMPLATE_MISSING, path=str(path))
            data = path.read_bytes()
        else:
            data = bytes(source)
        self.data = data
        self._entries = read_package(data, self.label)
        if "word/document.xml" not in self._entries:
            raise RenderError.of(Code.RENDER_TEMPLATE_UNREADABLE, path=self.label, why="缺少 word/document.xml")
        self.env = make_env()
        self.parts: list[_Part] = []
        self.header_templated = False
        for name in self._templated_part_names():
            xml = self._entries[name][1].decode("utf-8")
            patched = _patch_xml(xml)
            if "{{" not in patched and "{%" not in patched and name != "word/document.xml":
                continue
            if name != "word/document.xml":
                self.header_templated = True
            src = re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)
            try:
                self.parts.append(_Part(name, self.env.from_string(src), src))
            except jinja2.TemplateError as exc:
                raise render_error(exc, self.label, src) from None
        self.qr_media, self.qr_rel_id, self.qr_in_body = self._find_qr()
        self.needs_table_fix = "{%tc" in self._entries["word/document.xml"][1].decode("utf-8", "replace")
        changing = {p.name for p in self.parts} | ({self.qr_media} if self.qr_media else set())
        self._prebuilt = self._prebuild(changing)
        self._changing = changing

    # -- reading the package -------------------------------------------------------

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, zip target) of ``part``."""
        folder, _, base = part.rpartition("/")
        rels_name = f"{folder}/_rels/{base}.rels"
        if rels_name not in self._entries:
            return {}
        xml = self._entries[rels_name][1].decode("utf-8")
        out = {}
        for m in re.finditer(r"<Relationship\b([^>]*)/?>", xml):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if attrs.get("TargetMode") == "External":
                continue
            target = attrs.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else os.path.normpath(f"{folder}/{target}").replace(os.sep, "/")
            out[attrs.get("Id", "")] = (attrs.get("Type", ""), target)
        return out

    def _templated_part_names(self) -> list[str]:
        names = ["word/document.xml"]
        for _rid, (rtype, target) in self._rels("word/document.xml").items():
            if rtype.endswith(HEADER_TYPES) and target in self._entries:
                names.append(target)
        return names

    def _find_qr(self) -> tuple[str | None, str | None, bool]:
        """The zip entry of the QR placeholder picture (alt text ``fanpin-qr``)."""
        for part in self._templated_part_names():
            xml = self._entries[part][1].decode("utf-8")
            for m in re.finditer(r"<wp:docPr\b[^>]*>", xml):
                tag_text = m.group(0)
                if f'descr="{N.QR_DESCR}"' not in tag_text and f'name="{N.QR_DESCR}"' not in tag_text:
                    continue
                blip = re.search(r'<a:blip\b[^>]*\br:embed="([^"]+)"', xml[m.end():m.end() + 4000])
                if not blip:
                    continue
                rel = self._rels(part).get(blip.group(1))
                if rel and rel[1] in self._entries:
                    return rel[1], blip.group(1), part == "word/document.xml"
        return None, None, False

    def _prebuild(self, skip: set[str]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            self._copy_entries(z, skip)
        return buf.getvalue()

    def _copy_entries(self, z: zipfile.ZipFile, skip: set[str]) -> None:
        """Write every unchanging part of the template into ``z``."""
        for name, (_info, blob) in self._entries.items():
            if name not in skip:
                z.writestr(_zinfo(name), blob)

    @property
    def has_qr(self) -> bool:
        return self.qr_media is not None

    @property
    def can_merge(self) -> bool:
        """Whether many filled copies can go into one DOCX (page id in the body, not a header)."""
        return not self.header_templated and (self.qr_media is None or self.qr_in_body)

    # -- rendering ---------------------------------------------------------------

    def _render_part(self, part: _Part, context: dict[str, Any], spend: Budget) -> str:
        """One part, rendered chunk by chunk so that the size and the clock are watched as it grows."""
        try:
            xml = self._generate(part, context, spend)
        except LimitExceeded as exc:
            raise RenderError.of(Code.RENDER_TEMPLATE_LIMIT, path=self.label, form=_form_label(context),
                                 why=exc.reason) from None
        except MemoryError:
            raise RenderError.of(Code.RENDER_TEMPLATE_LIMIT, path=self.label, form=_form_label(context),
                                 why="内存不足") from None
        except RecursionError:
            raise RenderError.of(Code.RENDER_TEMPLATE_LIMIT, path=self.label, form=_form_label(context),
                                 why="宏或循环嵌套太深") from None
        except jinja2.TemplateError as exc:
            raise render_error(exc, self.label, part.source) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as exc:
            raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=self.label, why=f"{type(exc).__name__}: {exc}") from None
        if _DECLARATION.search(xml):  # e.g. '<!DOCTYPE …>'|safe: never let a DTD reach lxml or Word
            raise RenderError.of(Code.RENDER_TEMPLATE_DTD, path=self.label, part=part.name)
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if _LISTING_CHARS.search(xml):
            xml = _resolve_listing(xml)
        if self.needs_table_fix:
            xml = _fix_tables(xml)
        return xml

    @staticmethod
    def _generate(part: _Part, context: dict[str, Any], spend: Budget) -> str:
        chunks: list[str] = []
        for chunk in part.template.generate(context):
            spend.tick()
            spend.write(len(chunk.encode("utf-8", "surrogatepass")))
            chunks.append(chunk)
        return "".join(chunks)

    def render_parts(self, context: dict[str, Any]) -> dict[str, str]:
        """Templated part name → rendered XML, the whole form within the time and size limits."""
        out = {}
        with budget(limits.RENDER_SECONDS_PER_FORM, limits.RENDER_MAX_BYTES_PER_FORM) as spend:
            for part in self.parts:
                xml = self._render_part(part, context, spend)
                if part.name == "word/document.xml":
                    xml = _renumber_docpr(xml)
                out[part.name] = xml
        return out

    def render_bytes(self, context: dict[str, Any]) -> bytes:
        """One filled DOCX."""
        parts = self.render_parts(context)
        for name, xml in parts.items():
            _check_xml(xml, self.label)
        buf = io.BytesIO(self._prebuilt)
        buf.seek(0, io.SEEK_END)
        with zipfile.ZipFile(buf, "a") as z:
            for name, xml in parts.items():
                z.writestr(_zinfo(name), xml.encode("utf-8"))
            if self.qr_media:
                z.writestr(_zinfo(self.qr_media), _qr_for(context))
        return buf.getvalue()

    def render_to(self, path: Path | str, context: dict[str, Any]) -> Path:
        """Fill and write ``path`` atomically."""
        path = Path(path)
        write_atomic(path, self.render_bytes(context))
        return path

    def render_merged(self, contexts: Sequence[dict[str, Any]]) -> bytes:
        """ONE DOCX holding every context as its own page(s), each with its own QR code.

        Copies after the first start on a new page (``pageBreakBefore`` on their first
        paragraph). Needs :attr:`can_merge`."""
        if not self.can_merge:
            raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=self.label,
                                 why="模板的页眉/页脚中有填写标记或二维码，不能把多份合并到一个文件")
        if not contexts:
            raise ValueError("no contexts")
        head = tail = sect = ""
        bodies: list[str] = []
        for i, ctx in enumerate(contexts):
            xml = self.render_parts(ctx)["word/document.xml"]
            m = re.search(r"<w:body>(.*)</w:body>", xml, re.DOTALL)
            if m is None:
                raise RenderError.of(Code.RENDER_TEMPLATE_BAD_XML, path=self.label, why="document.xml 中没有 w:body")
            inner = m.group(1)
            sm = re.search(r"<w:sectPr\b(?:(?!<w:sectPr\b).)*</w:sectPr>\s*$", inner, re.DOTALL)
            if sm:
                inner, this_sect = inner[: sm.start()], sm.group(0)
            else:
                this_sect = ""
            if i == 0:
                head, tail, sect = xml[: m.start(1)], xml[m.end(1):], this_sect
            else:
                inner = _page_break_before(_BOOKMARK.sub("", inner))
                if self.qr_rel_id:
                    inner = re.sub(rf'(\br:(?:embed|link)="){re.escape(self.qr_rel_id)}"', rf'\g<1>rIdFpQr{i}"', inner)
            bodies.append(inner)
        document = _renumber_docpr(head + "".join(bodies) + sect + tail)
        _check_xml(document, self.label)
        rels_name = "word/_rels/document.xml.rels"
        rels = self._entries[rels_name][1].decode("utf-8") if rels_name in self._entries else None
        extra_media: dict[str, bytes] = {}
        if self.qr_media and len(contexts) > 1:
            folder = self.qr_media.rsplit("/", 1)[0]
            new_rels = []
            for i in range(1, len(contexts)):
                media = f"{folder}/fanpin_qr_{i}.png"
                extra_media[media] = _qr_for(contexts[i])
                target = os.path.relpath(media, "word").replace(os.sep, "/")
                new_rels.append(f'<Relationship Id="rIdFpQr{i}" Type="{IMAGE_REL}" Target="{target}"/>')
            rels = rels.replace("</Relationships>", "".join(new_rels) + "</Relationships>")
        skip = set(self._changing) | ({rels_name} if extra_media else set())
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            self._copy_entries(z, skip)
            z.writestr(_zinfo("word/document.xml"), document.encode("utf-8"))
            if extra_media:
                z.writestr(_zinfo(rels_name), rels.encode("utf-8"))
            if self.qr_media:
                z.writestr(_zinfo(self.qr_media), _qr_for(contexts[0]))
            for name, blob in extra_media.items():
                z.writestr(_zinfo(name), blob)
        if "png" not in self._entries["[Content_Types].xml"][1].decode("utf-8", "replace").lower() and extra_media:
            raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=self.label, why="[Content_Types].xml 中没有 png 类型")
        return buf.getvalue()

    # -- checking ----------------------------------------------------------------

    def variables(self) -> set[str]:
        """Every undeclared Jinja variable of the templated parts (what the template reads)."""
        from jinja2 import meta

        out: set[str] = set()
        for part in self.parts:
            out |= meta.find_undeclared_variables(self.env.parse(part.source))
        return out


def _form_label(context: dict[str, Any]) -> str:
    """Which form of the batch: the line printed under its QR code, with every run of six or
    more digits cut to its first four (a case id may be an ID number or a phone)."""
    text = str(context.get(N.IDENT_VAR) or "（空白表）")
    return _DIGIT_RUN.sub(lambda m: m.group(0)[:4] + "*" * (len(m.group(0)) - 4), text)


def _zinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    stored = name.endswith((".png", ".jpg", ".jpeg", ".gif", ".emf", ".wmf"))
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _qr_for(context: dict[str, Any]) -> bytes:
    payload = context.get("qr_payload")
    if not payload:
        raise KeyError("qr_payload")
    return qr_png(payload)


def _renumber_docpr(xml: str) -> str:
    counter = iter(range(1001, 10**9))
    return _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(3)}", xml)


def _check_xml(xml: str, label: str) -> None:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise RenderError.of(Code.RENDER_TEMPLATE_BAD_XML, path=label, why=str(exc)) from None


def _fix_tables(xml: str) -> str:
    from docxtpl import DocxTemplate
    from lxml import etree

    head = ""
    m = re.match(r"<\?xml[^>]*\?>\s*", xml)
    if m:
        head, xml = m.group(0), xml[m.end():]
    tree = DocxTemplate.fix_tables(_NoSelf(), xml)  # type: ignore[arg-type]
    return head + etree.tostring(tree, encoding="unicode")


_PPR_LEAD = re.compile(r"(?:<w:pStyle\b[^>]*/>|<w:keepNext\b[^>]*/>|<w:keepLines\b[^>]*/>)*")


def _page_break_before(inner: str) -> str:
    """Make the first paragraph of a copy start a new page."""
    m = re.match(r"\s*<w:p\b([^>]*)>", inner)
    if m and not m.group(0).rstrip().endswith("/>"):
        rest = inner[m.end():]
        if rest.startswith("<w:pPr>"):
            after = rest[len("<w:pPr>"):]
            lead = _PPR_LEAD.match(after).group(0)
            after = after[len(lead):]
            after = re.sub(r"^<w:pageBreakBefore\b[^>]*/>", "", after)
            return inner[: m.end()] + "<w:pPr>" + lead + "<w:pageBreakBefore/>" + after
        return inner[: m.end()] + "<w:pPr><w:pageBreakBefore/></w:pPr>" + rest
    return ('<w:p><w:pPr><w:pageBreakBefore/><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
            "</w:pPr></w:p>") + inner


# --- atomic writing ---------------------------------------------------------------------

# --- the reference (slow) path ----------------------------------------------------------


def naive_render(template: Path | bytes, context: dict[str, Any], out: Path, *,
                 placeholder: bytes | None = None) -> Path:
    """docxtpl's standard way, one ``DocxTemplate`` per document: the reference output.

    ``placeholder``: the template's QR placeholder image (found in the template if None)."""
    from docxtpl import DocxTemplate

    data = bytes(template) if isinstance(template, (bytes, bytearray)) else Path(template).read_bytes()
    if placeholder is None:
        compiled = CompiledTemplate(data)
        placeholder = compiled._entries[compiled.qr_media][1] if compiled.qr_media else None
    tpl = DocxTemplate(io.BytesIO(data))
    tpl.render(context, jinja_env=make_env(), autoescape=True)
    if placeholder is not None:
        tpl.replace_media(io.BytesIO(placeholder), io.BytesIO(_qr_for(context)))
    tpl.save(str(out))
    return Path(out)


# --- batches -----------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(template_bytes: bytes | None, label: str, token: str) -> None:
    # Ctrl-C and a closing terminal reach the whole process group: the parent alone
    # decides (it cancels the batch and terminates us). SIGTERM is how it does so, and
    # must not run a handler inherited from the parent by fork.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if template_bytes is not None:  # spawn: compile again; fork: inherited from the parent
        _WORKER["t"] = CompiledTemplate(template_bytes, label=label)
    _WORKER["token"] = token


class _PoolFailure(Exception):
    """A FanpinError crossing the process boundary (FanpinError itself does not pickle)."""

    def __init__(self, problems):
        super().__init__(problems)
        self.problems = problems


def _render_chunk(jobs: list[tuple[str, dict[str, Any]]]) -> list[tuple[Path, Path]]:
    compiled: CompiledTemplate = _WORKER["t"]
    try:
        return [(write_staged(Path(path), compiled.render_bytes(ctx), token=_WORKER["token"]), Path(path))
                for path, ctx in jobs]
    except FanpinError as exc:
        raise _PoolFailure(list(exc.problems)) from None


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def render_many(compiled: CompiledTemplate, jobs: Iterable[tuple[Path, dict[str, Any]]], *, total: int | None = None,
                workers: int | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Write every (path, context); a process pool when the batch is big and workers > 1.

    ``jobs`` may be a generator: contexts are made as the pool asks for them, with at
    most a few chunks in flight, so memory does not grow with the batch. All or
    nothing: every file is staged under a temporary name and the batch is moved into
    place only when every form has been filled."""
    workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    total = len(jobs) if total is None and isinstance(jobs, Sized) else total
    token = new_token()
    folders: set[Path] = set()
    staged: list[tuple[Path, Path]] = []

    def chunks() -> Iterator[list[tuple[str, dict[str, Any]]]]:
        chunk: list[tuple[str, dict[str, Any]]] = []
        for path, ctx in jobs:
            folders.add(Path(path).parent)
            chunk.append((str(path), ctx))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    try:
        if workers <= 1 or (total or 0) < POOL_THRESHOLD:
            for chunk in chunks():
                for path, ctx in chunk:
                    staged.append((write_staged(Path(path), compiled.render_bytes(ctx), token=token), Path(path)))
                    if progress:
                        progress(1)
            commit_staged(staged)
            return
        mp = _pool_context()
        forked = mp.get_start_method() == "fork"
        if forked:
            _WORKER["t"] = compiled  # the children inherit it: no pickling, no recompiling
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=_init_worker,
                                      initargs=(None if forked else compiled.data, compiled.label, token))
        with _stopped_on_failure(pool):
            pending: set[cf.Future] = set()

            def collect(wait_for: str) -> None:
                nonlocal pending
                done, pending = cf.wait(pending, return_when=wait_for)
                for fut in done:
                    written = fut.result()
                    staged.extend(written)
                    if progress:
                        progress(len(written))

            for chunk in chunks():
                if len(pending) >= IN_FLIGHT * workers:
                    collect(cf.FIRST_COMPLETED)
                pending.add(pool.submit(_render_chunk, chunk))
            while pending:
                collect(cf.FIRST_COMPLETED)
        commit_staged(staged)
    except _PoolFailure as exc:
        raise RenderError(exc.problems) from None
    except BrokenProcessPool:
        raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=compiled.label,
                             why="填写进程异常退出（可能是内存不足，或进程被系统结束）") from None
    finally:
        for folder in folders:
            sweep_temp(folder, token)


@contextlib.contextmanager
def _stopped_on_failure(pool: cf.ProcessPoolExecutor) -> Iterator[None]:
    """Shut ``pool`` down when the block ends: waiting for it normally; at once on any
    error or interrupt, cancelling what is queued and terminating the workers.

    ``shutdown(cancel_futures=True)`` alone would still wait for the chunks being
    written; a worker killed mid-write leaves only a temporary file, which the
    batch's sweep removes."""
    try:
        yield
    except BaseException:
        # No public handles in 3.11 (terminate_workers() is 3.14).
        workers = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.join(5)
        pool.shutdown(wait=True)  # the manager thread sees its workers gone and ends
        # An interrupted pool's wake-up pipe can be closed under it; the exit hook that
        # writes to it would print a traceback after our message.
        if manager is not None:
            getattr(cf.process, "_threads_wakeups", {}).pop(manager, None)
        raise
    pool.shutdown(wait=True)


def existing_files(out_dir: Path, paths: Sequence[Path]) -> tuple[int, int]:
    """(files of this batch already there, other visible files) in ``out_dir``.

    A DOCX of this batch counts with its PDF; ``errors.csv`` is this batch's report."""
    ours = {p.name for p in paths} | {p.with_suffix(".pdf").name for p in paths} | {"errors.csv"}
    replaced = unrelated = 0
    with contextlib.suppress(OSError):
        for entry in out_dir.iterdir():
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if entry.name in ours:
                replaced += entry.name != "errors.csv"
            else:
                unrelated += 1
    return replaced, unrelated


def check_name_lengths(out_dir: Path, names: Sequence[str]) -> None:
    """Refuse the batch, before anything is written, if a file name (or its PDF's) is
    longer than the file system under ``out_dir`` allows."""
    limit = name_limit(out_dir)
    long = [(n, name_bytes(n)) for n in names if name_bytes(n) > limit]
    if long:
        name, size = long[0]
        more = f"，共 {len(long)} 个文件名超长" if len(long) > 1 else ""
        raise RenderError.of(Code.IO_NAME_TOO_LONG, folder=str(out_dir), name=name, size=size, limit=limit,
                             more=more)


DEFAULT_PATTERN = "{township}_{village}_{head_name}_{case_id}"


def fill_batch(form: FormSpec, records: Sequence, county, out_dir: Path | str, *, name_pattern: str = DEFAULT_PATTERN,
               year: int | None = None, workers: int | None = None, progress: Callable[[int], None] | None = None,
               template: Path | str | bytes | CompiledTemplate | None = None, types: dict | None = None,
               notice: Callable[[Problem], None] | None = None) -> list[Path]:
    """Fill ``form`` once per record into ``out_dir``; returns the paths in record order.

    Validates the name pattern, the file names' lengths and the county's baseline for
    ``year`` (default: this year) before writing anything; contexts are then made as
    the writers need them. ``notice`` is told (a warning) when ``out_dir`` already holds
    files: this batch's are replaced, each atomically; others are left alone."""
    import datetime as dt

    from .context import record_context, record_ident
    from .naming import file_names

    year = dt.date.today().year if year is None else year
    names = file_names(form, records, name_pattern)
    county.placeholders(year)  # raises POLICY_NO_BASELINE now rather than mid-batch
    compiled = compile_for(form, template)
    out = Path(out_dir)
    check_name_lengths(out, names)
    ensure_dir(out)
    sweep_stale(out)
    paths = [out / name for name in names]
    replaced, unrelated = existing_files(out, paths)
    if notice is not None and replaced + unrelated:
        notice(Problem(Code.IO_EXISTING_FILES, {"folder": str(out), "total": replaced + unrelated,
                                                "replaced": replaced, "unrelated": unrelated}, severity="warning"))
    jobs = ((path, record_context(form, r, county, year, record_ident(r, i + 1), types=types))
            for i, (path, r) in enumerate(zip(paths, records)))
    render_many(compiled, jobs, total=len(paths), workers=workers, progress=progress)
    return paths


def compile_for(form: FormSpec, template: Path | str | bytes | CompiledTemplate | None) -> CompiledTemplate:
    """The compiled template: given, or built from the form's spec."""
    if isinstance(template, CompiledTemplate):
        return template
    if template is None:
        from .template import build_template

        return CompiledTemplate(build_template(form), label=f"{form.id}（由表单定义生成）")
    return CompiledTemplate(template)


__all__ = ["CompiledTemplate", "DEFAULT_PATTERN", "compile_for", "fill_batch", "make_env", "naive_render",
           "render_many"]
