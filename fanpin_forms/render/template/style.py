"""The type and measures of the printed forms: fonts, sizes, line pitches, the QR
picture's size, and :class:`Style` (what a run is printed in)."""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import BODY_PT

# --- page and type ----------------------------------------------------------------

BODY_FONT = "仿宋"  # FangSong; LibreOffice: Noto Serif CJK SC through fonts.conf
LATIN = BODY_FONT  # digits and Latin letters in the same face, as Chinese official forms print them
TITLE_FONT = "宋体"
CAPTION_FONT = "黑体"
NOTE_PT = 10.5
BODY_LINE_PT = 16.0  # exact line pitch of body text (Noto Serif CJK at 12 pt is ~17.3 pt natural)
NOTE_LINE_PT = 13.0
PROSE_LINE_PT = 22.0  # paragraphs of running text (annex 1)
SIGN_SPACE_PT = 7.0  # room to sign above a signer line
DATE_SPACE_PT = 4.0
DATE_LINE = "年\u3000\u3000月\u3000\u3000日"
TITLE_PT = 18.0
CAPTION_PT = 14.0
IDENT_PT = 7.0
QR_CM = 2.0
QR_TOP_CM = 0.3  # from the top edge of the page, inside the top margin
STAGE_TITLE_CM = 3.0
STAGE_TITLE_CHARS = 6  # characters per line in the stage-title column
COMPACT_STAGES = 5  # from this many stages on, a single signer and the date share a line (annex 3)
YEAR_ROOM_CHARS = 5  # empty room needed before 年 for a handwritten year when they share a line
SIGN_ROOM_MM = 35.0  # free line every signer gets after the label for a signature


@dataclass(frozen=True)
class Style:
    size: float = BODY_PT
    east: str = BODY_FONT
    latin: str = LATIN
    bold: bool = False
    underline: bool = False


BODY = Style()
NOTE = Style(size=NOTE_PT)
