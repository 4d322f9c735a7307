"""OCR with RapidOCR (PP-OCR models shipped in its wheel, fully offline).

One engine per process, created on first use: loading takes about a second and a
gigabyte, so a worker keeps its engine for every page it reads. Only crops are
OCR'd — a full page costs ~3 s, a line crop ~0.05–0.2 s — and a crop that is one
line of text (a date line, a header line) goes to the recogniser alone, without
text detection and the angle classifier.

``FANPIN_FORMS_OCR_THREADS`` caps the threads of onnxruntime (the parallel reader
sets 1 per worker so that N workers use N cores, not N×N threads).

The engine is swappable: the ``ocr_engine`` hook returns it (the built-in plugin returns
:func:`rapidocr_engine`); the composition root hands the hook in with :func:`use_provider`
(every worker process does the same when it makes its setup). Another engine answers
as RapidOCR does: ``engine(image, use_det=…, use_cls=…, use_rec=…, return_word_box=…)``
with ``.txts``, ``.scores``, ``.boxes`` and ``.word_results``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

THREADS_ENV = "FANPIN_FORMS_OCR_THREADS"

_ENGINE = None
_RAPID = None
#: what returns the engine (the ``ocr_engine`` hook), set by :func:`use_provider`
_PROVIDER = None


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in the crop (detection only)
    chars: tuple[float, ...] = ()  # each character's score, aligned with ``text`` (recognition only)

    def weakest(self, wanted=str.isdigit) -> float:
        """The lowest score among the characters that matter (digits, by default): one
        misread digit in a date hides behind a good average."""
        got = [c for ch, c in zip(self.text, self.chars) if wanted(ch)]
        return min(got) if got else self.score


def available() -> bool:
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


def use_provider(provider) -> None:
    """Take the engine from ``provider()`` (the ``ocr_engine`` hook) from now on."""
    global _PROVIDER, _ENGINE
    if provider is not _PROVIDER:
        _PROVIDER, _ENGINE = provider, None


def engine():
    """The process's OCR engine: the provider's (the ``ocr_engine`` hook), else RapidOCR."""
    global _ENGINE
    if _ENGINE is None:
        found = _PROVIDER() if _PROVIDER is not None else None
        _ENGINE = found if found is not None else rapidocr_engine()
    return _ENGINE


def rapidocr_engine():
    """The process's RapidOCR engine (created on first use)."""
    global _RAPID
    if _RAPID is None:
        from rapidocr import RapidOCR

        # detection only ever sees a strip of the page: cap its long side (the default
        # "min 736" blows a 1240×220 strip up to 4000×736)
        params: dict = {"Global.log_level": "error", "Global.use_cls": False,
                        "Det.limit_type": "max", "Det.limit_side_len": 1280}
        threads = os.environ.get(THREADS_ENV)
        if threads and threads.isdigit() and int(threads) > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        _RAPID = RapidOCR(params=params)
    return _RAPID


def _gray(img) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim == 3:
        arr = (arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114).astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_line(img) -> Line:
    """Recognise one line of text (no detection): (text, score in 0..1)."""
    arr = _gray(img)
    if arr.size == 0 or min(arr.shape[:2]) < 4:
        return Line("", 0.0)
    out = engine()(arr, use_det=False, use_cls=False, use_rec=True, return_word_box=True)
    txts = getattr(out, "txts", None) or ()
    scores = getattr(out, "scores", None) or ()
    if not txts:
        return Line("", 0.0)
    chars: tuple[float, ...] = ()
    words = getattr(out, "word_results", None) or ()
    confs = getattr(words[0], "confs", None) if words and words[0] is not None else None
    if confs is not None and len(confs) == len(str(txts[0])):
        chars = tuple(float(c) for c in confs)
    return Line(str(txts[0]), float(scores[0]) if scores else 0.0, chars=chars)


def read_lines(imgs: list) -> list[Line]:
    return [read_line(img) for img in imgs]


def read_block(img) -> list[Line]:
    """Detect and recognise every text line in an image (for a strip whose layout is unknown)."""
    arr = _gray(img)
    if arr.size == 0 or min(arr.shape[:2]) < 8:
        return []
    out = engine()(arr, use_det=True, use_cls=False, use_rec=True)
    txts = getattr(out, "txts", None) or ()
    scores = getattr(out, "scores", None) or ()
    boxes = getattr(out, "boxes", None)
    lines = []
    for i, text in enumerate(txts):
        box = None
        if boxes is not None and len(boxes) > i:
            b = np.asarray(boxes[i])
            box = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 0].max()), float(b[:, 1].max()))
        lines.append(Line(str(text), float(scores[i]) if i < len(scores) else 0.0, box))
    lines.sort(key=lambda ln: (ln.box[1], ln.box[0]) if ln.box else (0, 0))
    return lines
