"""One page in, one :class:`~.results.PageResult` out: which form it is and what is written on it.

This is what a worker process runs for every page: identify the page (QR code, printed
id line, title; :mod:`.identify`), then read it as a text layer (:mod:`.textlayer`) or
as a scan against its blank (:mod:`.scanpage`). It never raises: a page that cannot be
processed comes back as ``status`` ``failed`` with a catalogue problem, so one bad page
never stops a run (and never shows a traceback).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..errors import Code, FanpinError, Problem
from .identify import (Identity, cross_check, identify_by_ocr, identify_by_text, is_empty, printed_ident_by_ocr,
                       printed_ident_in_text, read_qr, read_qr_pictures, upright)
from ..pagemark import qr_modules
from .images import png
from .photo import PhotoFailure, flatten, looks_like_photo
from .inputs import Page
from .reference import header_layout, reference_for
from .results import PageReading, PageResult, ReviewItem, ReviewKind
from .scanpage import read_scan
from .setup import ReadSetup
from .textlayer import read_text_page
from .thresholds import (PHOTO_MARGIN, ID_LEGACY_CONFIDENCE, ID_OCR_CONFIDENCE, ID_TEXT_CONFIDENCE, ID_TITLE_CONFIDENCE,
                         ID_UNVERIFIED_CONFIDENCE)



def read_page(setup: ReadSetup, page: Page, *, crops: bool = False) -> PageResult:
    """Identify and read one page; ``crops``: keep images of what goes to review."""
    base = PageResult(page.source, page.number)
    try:
        return _read(setup, page, crops, base)
    except FanpinError as exc:
        problem = exc.problems[0]
    except MemoryError:
        problem = Problem(Code.READ_PAGE_FAILED, {"why": "内存不足（页面太大）"})
    except Exception as exc:  # noqa: BLE001 - the boundary: one page must never stop the run
        problem = Problem(Code.READ_PAGE_FAILED, {"why": f"{type(exc).__name__}: {exc}"[:300]})
    base.status, base.problem, base.why = "failed", problem, problem.message
    return base


def _foreign(base: PageResult, why: str) -> PageResult:
    base.status, base.why = "foreign", Code.READ_FOREIGN.format(why=why)
    return base


def _known_form(setup: ReadSetup, form_id: str | None, version: str | None):
    form = setup.forms.get(form_id) if form_id else None
    if form is None or getattr(form, "kind", "form") != "form" or (version is not None and version != form.version):
        known = "、".join(f"{f.id}（{f.version}）" for f in setup.forms.values() if getattr(f, "kind", "form") == "form")
        raise FanpinError.of(Code.READ_UNKNOWN_FORM, form=form_id or "?", version=version or "?", known=known)
    return form


def _read(setup: ReadSetup, page: Page, crops: bool, base: PageResult) -> PageResult:
    forms_titles = setup.form_titles()
    text_page = page.kind == "text" and page.meta.get("pictures", 0) <= 1
    identity: Identity | None = None
    img, unflattened = None, None
    if text_page:
        text = page.text()
        payload = read_qr_pictures(page.embedded_images())
        if payload is not None:
            identity = cross_check(Identity(payload, "qr", 0, payload.form_id), printed_ident_in_text(text))
        else:
            identity = identify_by_text(text.splitlines(), forms_titles)
    else:
        img = page.image
        dpi, is_photo = page.dpi, False
        if page.kind == "image" and not page.text_layer and looks_like_photo(np.asarray(img)):
            flat = flatten(np.asarray(img), margin=PHOTO_MARGIN)
            if isinstance(flat, PhotoFailure) and flat.reason in ("blur", "too_large"):
                raise FanpinError(flat.problem)
            if isinstance(flat, PhotoFailure):  # no sheet in it: a form of ours (its QR code says) fails
                unflattened = flat.problem
            else:
                img, dpi, is_photo = Image.fromarray(flat.image), flat.dpi, True
        payload, rotation, corners, _ = read_qr(img)
        if payload is not None:
            identity = Identity(payload, "qr", rotation, payload.form_id, corners)
        elif page.text_layer:
            identity = identify_by_text(page.text().splitlines(), forms_titles)
        if identity is None:
            if is_empty(img):
                return _foreign(base, Code.READ_EMPTY_PAGE.format())
            identity = identify_by_ocr(img, forms_titles)
    if identity is None:
        return _foreign(base, "没有找到本系统的二维码、表单编号或表单标题")
    if unflattened is not None:
        raise FanpinError(unflattened)

    form = _known_form(setup, identity.form_id, identity.payload.version if identity.payload else None)
    if text_page:
        _describe(base, form, identity)
        header = header_layout(setup, form)
        reading = read_text_page(form, page.text(), header, header.county_values)
    else:
        ref = reference_for(setup, form)
        p = identity.payload
        if p is not None and p.page > ref.pages:
            raise FanpinError.of(Code.READ_UNKNOWN_FORM, form=form.id, version=f"{form.version} 第{p.page}页",
                                 known=f"{form.id} 共 {ref.pages} 页")
        up = upright(img, identity.rotation)
        if identity.method == "qr":
            identity = cross_check(identity, _printed_on_scan(page, up, identity, ref))
        _describe(base, form, identity)
        text_fields = None
        if page.kind == "searchable" or page.kind == "text":
            parsed = ref.header.parse(page.text())
            if parsed and all(v for v, _ in parsed.values()):
                text_fields = parsed
        reading = read_scan(ref, identity, np.asarray(up), dpi, page_no=base.page_no, crops=crops,
                            text_fields=text_fields, photo=is_photo)
    _note_identity(identity, reading, page, img, crops)
    base.status = "flagged" if (not identity.trusted or reading.flagged) else "recognised"
    base.why, base.reading, base.scan, base.trusted = identity.note or reading.flagged, reading, not text_page, \
        identity.trusted
    return base


def _describe(base: PageResult, form, identity: Identity) -> None:
    p = identity.payload
    base.form, base.version, base.identified_by = form.id, form.version, identity.method
    base.ident = p.ident if p else None
    base.page_no, base.pages = (p.page, p.pages) if p else (1, 1)


def _printed_on_scan(page: Page, up, identity: Identity, ref) -> tuple[str, str, int, int] | None:
    """The printed id line of a scan: from its text layer when it has one, else one
    OCR'd line at the place the blank prints it."""
    if page.text_layer:
        return printed_ident_in_text(page.text())
    geo = ref.geometry(identity.payload.page)
    modules = qr_modules(identity.payload.encode())
    return printed_ident_by_ocr(up, identity.qr_corners, geo.qr, geo.ident, modules)


def _note_identity(identity: Identity, reading: PageReading, page: Page, img, crops: bool) -> None:
    if identity.method == "qr" and not identity.note:
        return
    if identity.method == "qr":
        only_legacy = identity.note == Code.READ_QR_LEGACY.format(ident=identity.payload.ident)
        conf = ID_LEGACY_CONFIDENCE if only_legacy else ID_UNVERIFIED_CONFIDENCE
        value = identity.payload.ident
    elif identity.method == "text":
        conf = ID_TEXT_CONFIDENCE if page.text_layer else ID_OCR_CONFIDENCE
        value = identity.payload.ident if identity.payload else None
    else:
        conf, value = ID_TITLE_CONFIDENCE, None
    crop = None
    if crops and img is not None:
        up = np.asarray(upright(img, identity.rotation).convert("L"))
        strip = up[: max(1, up.shape[0] // 6)]
        crop = png(strip[:, :: 2][::2] if strip.shape[1] > 1600 else strip)
    reading.review.insert(0, ReviewItem(None, ReviewKind.IDENTITY, None, identity.note, value, conf, crop))
