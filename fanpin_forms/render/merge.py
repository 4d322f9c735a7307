"""Several filled copies of one template in ONE DOCX, for printing a batch in one go.

Every copy keeps its own QR code: copies after the first start on a new page
(``pageBreakBefore`` on their first paragraph), their bookmarks are dropped (the
names would clash), and their QR picture points at a picture of its own
(``rIdFpQr<n>`` → ``media/fanpin_qr_<n>.png``). A template whose header or footer
is templated, or holds the QR code, cannot be merged: a header is shared by every
page of a section (:attr:`.CompiledTemplate.can_merge`).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from ..errors import Code, RenderError
from .compiled import CompiledTemplate, check_xml, qr_for, renumber_docpr, zinfo

IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_BOOKMARK = re.compile(r"<w:bookmark(?:Start|End)\b[^>]*/>")
_PPR_LEAD = re.compile(r"(?:<w:pStyle\b[^>]*/>|<w:keepNext\b[^>]*/>|<w:keepLines\b[^>]*/>)*")


def render_merged(compiled: CompiledTemplate, contexts: Sequence[dict[str, Any]]) -> bytes:
    """ONE DOCX holding every context as its own page(s), each with its own QR code.

    Copies after the first start on a new page (``pageBreakBefore`` on their first
    paragraph). Needs :attr:`.CompiledTemplate.can_merge`."""
    if not compiled.can_merge:
        raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=compiled.label,
                             why="模板的页眉/页脚中有填写标记或二维码，不能把多份合并到一个文件")
    if not contexts:
        raise ValueError("no contexts")
    head = tail = sect = ""
    bodies: list[str] = []
    for i, ctx in enumerate(contexts):
        xml = compiled.render_parts(ctx)["word/document.xml"]
        m = re.search(r"<w:body>(.*)</w:body>", xml, re.DOTALL)
        if m is None:
            raise RenderError.of(Code.RENDER_TEMPLATE_BAD_XML, path=compiled.label, why="document.xml 中没有 w:body")
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
            if compiled.qr_rel_id:
                inner = re.sub(rf'(\br:(?:embed|link)="){re.escape(compiled.qr_rel_id)}"', rf'\g<1>rIdFpQr{i}"', inner)
        bodies.append(inner)
    document = renumber_docpr(head + "".join(bodies) + sect + tail)
    check_xml(document, compiled.label)
    rels_name = "word/_rels/document.xml.rels"
    raw_rels = compiled.entry(rels_name)
    rels = raw_rels.decode("utf-8") if raw_rels is not None else None
    extra_media: dict[str, bytes] = {}
    if compiled.qr_media and len(contexts) > 1:
        folder = compiled.qr_media.rsplit("/", 1)[0]
        new_rels = []
        for i in range(1, len(contexts)):
            media = f"{folder}/fanpin_qr_{i}.png"
            extra_media[media] = qr_for(contexts[i])
            target = os.path.relpath(media, "word").replace(os.sep, "/")
            new_rels.append(f'<Relationship Id="rIdFpQr{i}" Type="{IMAGE_REL}" Target="{target}"/>')
        rels = rels.replace("</Relationships>", "".join(new_rels) + "</Relationships>")
    skip = set(compiled.changing) | ({rels_name} if extra_media else set())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        compiled.copy_entries(z, skip)
        z.writestr(zinfo("word/document.xml"), document.encode("utf-8"))
        if extra_media:
            z.writestr(zinfo(rels_name), rels.encode("utf-8"))
        if compiled.qr_media:
            z.writestr(zinfo(compiled.qr_media), qr_for(contexts[0]))
        for name, blob in extra_media.items():
            z.writestr(zinfo(name), blob)
    if "png" not in (compiled.entry("[Content_Types].xml") or b"").decode("utf-8", "replace").lower() and extra_media:
        raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=compiled.label, why="[Content_Types].xml 中没有 png 类型")
    return buf.getvalue()


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


__all__ = ["render_merged"]
