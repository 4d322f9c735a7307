"""A DOCX template compiled once and filled many times: the package surgery.

The naive way (a new ``DocxTemplate`` per record → render → save) re-parses the
package every time (~40 ms a form). :class:`CompiledTemplate` instead

* runs docxtpl's own ``patch_xml`` once on each templated part (``document.xml``,
  headers, footers), so tags Word split across runs still work, and compiles it with
  a sandboxed, autoescaping Jinja environment;
* keeps every other zip entry, already compressed, in a prebuilt zip;
* per document renders the templated parts, makes the QR image and appends just those
  entries to a copy of the prebuilt zip.

The text of the result is the same as docxtpl's (a test compares them, with the
benchmark's baseline ``benchmarks/naive.py``).

Autoescape is on: without it docxtpl silently drops everything from a ``&`` or ``<``
on (``张三&李四`` → ``张三``). The sandbox refuses ``{{ ''.__class__.__mro__ }}`` and the
like in a county's template, and keeps each form within :data:`~fanpin_forms.util.limits.RENDER_SECONDS_PER_FORM`
and :data:`~fanpin_forms.util.limits.RENDER_MAX_BYTES_PER_FORM` (see :mod:`.sandbox`). A template is checked
when it is loaded (:mod:`.docxsafe`: zip bombs, DTDs, external links, field codes that
would send a value out), so a dangerous template is never filled.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import Code, RenderError
from ..util import limits
from ..util.atomic import write_atomic
from . import names as N
from .docxsafe import read_package
from .qr import qr_png
from .sandbox import Budget, LimitedSandbox, LimitExceeded, budget

HEADER_TYPES = ("/header", "/footer")

_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
_LISTING_CHARS = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\f\n]")
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
            self.copy_entries(z, skip)
        return buf.getvalue()

    def copy_entries(self, z: zipfile.ZipFile, skip: set[str]) -> None:
        """Write every entry of the template but ``skip`` into ``z``, as it is."""
        for name, (_info, blob) in self._entries.items():
            if name not in skip:
                z.writestr(zinfo(name), blob)

    def entry(self, name: str) -> bytes | None:
        """The bytes of zip entry ``name`` of the template, or None."""
        found = self._entries.get(name)
        return None if found is None else found[1]

    @property
    def changing(self) -> frozenset[str]:
        """The entries each filled copy writes anew: the templated parts and the QR image."""
        return frozenset(self._changing)

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
                    xml = renumber_docpr(xml)
                out[part.name] = xml
        return out

    def render_bytes(self, context: dict[str, Any]) -> bytes:
        """One filled DOCX."""
        parts = self.render_parts(context)
        for name, xml in parts.items():
            check_xml(xml, self.label)
        buf = io.BytesIO(self._prebuilt)
        buf.seek(0, io.SEEK_END)
        with zipfile.ZipFile(buf, "a") as z:
            for name, xml in parts.items():
                z.writestr(zinfo(name), xml.encode("utf-8"))
            if self.qr_media:
                z.writestr(zinfo(self.qr_media), qr_for(context))
        return buf.getvalue()

    def render_to(self, path: Path | str, context: dict[str, Any]) -> Path:
        """Fill and write ``path`` atomically."""
        path = Path(path)
        write_atomic(path, self.render_bytes(context))
        return path

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


def zinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    stored = name.endswith((".png", ".jpg", ".jpeg", ".gif", ".emf", ".wmf"))
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def qr_for(context: dict[str, Any]) -> bytes:
    payload = context.get("qr_payload")
    if not payload:
        raise KeyError("qr_payload")
    return qr_png(payload)


def renumber_docpr(xml: str) -> str:
    counter = iter(range(1001, 10**9))
    return _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(3)}", xml)


def check_xml(xml: str, label: str) -> None:
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



__all__ = ["CompiledTemplate", "check_xml", "make_env", "qr_for", "render_error", "renumber_docpr", "template_label",
           "zinfo"]
