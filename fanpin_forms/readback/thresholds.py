"""Every recognition threshold of read-back, in one place, each with its unit.

Units: ``pt`` are PDF points of the blank form (1/72 inch, 0.353 mm); ``mm`` and
``mm²`` are measured on paper whatever the scan's resolution; ``px`` are pixels of
the image named; a *confidence* or *score* is 0–1; a *share* is a fraction of an
area's pixels. The modules that use a value import it from here (and re-export it
under the same name), so that tuning happens in one file.

The figures were set on the simulated scans of ``benchmarks/bench_parse.py``
(150–300 dpi, turned, skewed, blurred, JPEG) and the scans of the tests.
"""

from __future__ import annotations

# --- review: how sure a value must be to be taken without a person looking ----------------------

#: confidence below which a tick, signature or seal goes to review (0–1)
REVIEW_BELOW = 0.6
#: OCR confidence under which a date, written code or header value is not taken (0–1)
OCR_REVIEW_BELOW = 0.8
#: header values read by OCR with less confidence than this go to review (0–1)
FIELD_REVIEW_BELOW = OCR_REVIEW_BELOW

# --- identity -------------------------------------------------------------------------------------

#: confidence given to an identity read from the printed id line (text layer / OCR) or the title (0–1)
ID_TEXT_CONFIDENCE, ID_OCR_CONFIDENCE, ID_TITLE_CONFIDENCE = 0.9, 0.7, 0.3
#: confidence given to a QR identity that is unauthenticated (old format) or contradicted / forged (0–1)
ID_LEGACY_CONFIDENCE, ID_UNVERIFIED_CONFIDENCE = 0.5, 0.2
#: OCR score a printed id line needs before it may contradict the QR code (0–1)
PRINTED_ID_MIN_SCORE = 0.9
#: height the printed id line is enlarged to before OCR (px of the OCR crop)
IDENT_OCR_HEIGHT = 48
#: how far left of the blank's id line end the printed line may start (pt)
IDENT_SPAN_PT = 300.0
#: share of the page height OCR'd when looking for the title and the id line (fraction of the height)
TOP_STRIP = 0.18
#: OCR works on that strip scaled to about this width (px; ≈150 dpi for A4)
STRIP_WIDTH = 1240

# --- duplicates -----------------------------------------------------------------------------------

#: confidence of the review item about a duplicate: same content, one copy has more ink, they disagree (0–1)
DUP_SAME_CONFIDENCE, DUP_MORE_INK_CONFIDENCE, DUP_DISAGREE_CONFIDENCE = 0.9, 0.7, 0.2

# --- input pages ------------------------------------------------------------------------------------

#: a PDF page with at least this many characters of text is read from its text layer (characters)
MIN_TEXT_CHARS = 40
#: resolution assumed for an image that does not say its own (dpi)
DEFAULT_DPI = 200
#: scans are rendered at their own resolution, within these bounds (dpi)
MIN_DPI, MAX_DPI = 100, 300
#: a picture covering this share of the page makes it a scan (fraction of the page area)
SCAN_AREA = 0.5

# --- the blank and the alignment --------------------------------------------------------------------

#: grey level below which a pixel of the blank counts as printed ink (0–255)
REF_DARK = 175
#: working resolutions: the blank is rendered at the scan's own, rounded to this step, within these bounds (dpi)
DPI_STEP, DPI_MIN, DPI_MAX = 25, 100, 300
#: a phone photo's sheet is flattened with this much room round it (share of each side): corners
#: found a little inside the sheet then cut nothing off
PHOTO_MARGIN = 0.04
#: resolution the ECC registration works at, and its homography pass on a flattened phone photo (dpi)
ECC_DPI, PHOTO_ECC_DPI = 50, 75
#: an ECC result further than this from the QR estimate is not trusted (mm)
MAX_ECC_DRIFT_MM = 8.0
#: correlation of blank and scan below which the alignment is flagged (0–1)
LOW_ALIGNMENT = 0.35
#: how far a region may sit from where the global alignment puts it, across and down (pt), and
#: the match score below which the global alignment is kept (0–1)
LOCAL_SEARCH, LOCAL_SEARCH_Y, LOCAL_MIN_SCORE = 8.0, 24.0, 0.45
#: outline match score kept as a weak candidate for boxes the strong matches leave out (0–1)
WEAK_BOX = 0.3

# --- where marks are looked for (page geometry) -----------------------------------------------------

#: room left of "年" for a handwritten year (pt; four digits ≈ 2 characters)
YEAR_ROOM = 48.0
#: how far a signer's area (signature, seal or thumbprint) reaches above and below its label (pt).
#: The simulator of the tests signs inside this area.
SIGN_ABOVE, SIGN_BELOW = 16.0, 14.0
#: how far above its label a signature's *ink* is measured (pt): less than :data:`SIGN_ABOVE`, so
#: the printed line above a label (a pre-filled statement wraps differently from the blank) is
#: not taken for a signature; a seal or thumbprint is still looked for in the whole area
SIGN_INK_ABOVE = 10.0
#: how far a seal may spread around a label that asks for one (pt)
SEAL_RADIUS = 60.0

# --- marks: ticks, signatures, seals, handwriting ---------------------------------------------------

#: tick boxes: share of new ink in the box interior below which a box is empty, above which ticked
#: (fraction of the interior's pixels)
TICK_EMPTY, TICK_TICKED = 0.035, 0.09
#: …and of the interior and the outside ring's paper (the printed numerals left out), above which
#: heavy ink is a scribble, not a fill (fractions)
TICK_SCRIBBLE_INSIDE, TICK_SCRIBBLE_RING = 0.45, 0.03
#: share of the columns beside a box (left and right strips) holding ink for a box to count as
#: struck out (fraction of the strip)
TICK_STRIKE_SIDE = 0.5
#: signatures (dark ink): absent below, present above (mm²); the extent a signature must reach (mm)
SIGN_ABSENT, SIGN_PRESENT, SIGN_SPREAD = 2.0, 6.0, 4.0
#: seals and thumbprints (red ink): absent below, present above (mm²)
RED_ABSENT, RED_PRESENT = 3.0, 15.0
#: handwriting in a date line or a code blank (mm² of new ink)
WRITTEN_MIN = 1.2
#: specks smaller than this are scanner noise, not ink (mm²)
SPECK = 0.12

# --- header values on a scan --------------------------------------------------------------------------

#: padding around OCR'd lines (pt)
LINE_PAD = 3.0
#: printed text (or writing) in a header blank (mm²; one thin character such as 一 or 二 is ~1 mm²)
PRINTED_MIN = 0.4
#: how much of a label next to a value is matched to find where the label is (pt)
LABEL_END = 36.0
#: crops stop this far below the text line, above the blank's underline (pt): "一" over its
#: underline reads "二"
BELOW_LINE = 0.5

# --- seals and thumbprints by shape (scans without colour) ----------------------------------------------

#: a scan is in colour when at least this share of its pixels has a chroma (max − min of R, G, B)
#: above :data:`COLOUR_CHROMA` (fraction of the pixels; 0–255)
COLOUR_SHARE, COLOUR_CHROMA = 0.0002, 40
#: grey level, as a fraction of the paper's white, under which a pixel is light ink: a faded seal,
#: a light pencil tick (fraction)
FAINT_INK = 0.82
#: radii a seal's ring is looked for at (mm; official seals are 38–45 mm across, special-purpose ones smaller)
SEAL_RING_MM = (11.0, 24.0)
#: the ring search works at this resolution (px per mm)
SEAL_RING_PX_MM = 2.0
#: share of a ring's visible angles that must carry ink for a ring to be found, and below which
#: there is no ring (fractions); between them the seal goes to review
RING_FOUND, RING_NONE = 0.8, 0.55
#: how much sparser the band just outside the ring must be than the ring (fraction of the angles)
RING_CONTRAST = 0.35
#: thumbprints on a scan without colour: the densest 8 mm square of new ink in the area; a
#: thumbprint's ridges fill ~60 % of it, a signature's strokes (bold, written large) up to ~45 %;
#: between the two the thumbprint goes to review (fractions)
THUMB_WINDOW_MM, THUMB_DENSE, THUMB_SPARSE = 8.0, 0.55, 0.3
#: a scan is 1-bit when less than this share of its pixels are mid-grey (fraction); it is
#: dithered when more than this share of its black pixels stand alone (fraction)
BINARY_MID_SHARE, DITHER_ALONE = 0.03, 0.08
#: a 1-bit scan is blurred by this much before ink is measured, thresholded and dithered
#: (mm, the Gaussian's sigma): jagged edges, and dither dots that are paper, not ink
BINARY_BLUR_MM, DITHER_BLUR_MM = 0.12, 0.25
#: how far above and below its area a signature's strokes are followed when they start inside it (pt)
SIGN_SPILL = 8.0
#: on a 1-bit scan a tick box's interior is measured this far inside the blank's printed edge (mm)
BINARY_EDGE_MM = 0.2
#: on a dithered scan the tick thresholds (:data:`TICK_EMPTY`, :data:`TICK_TICKED`) are this many times higher
DITHER_TICK_SCALE = 2.0

# --- repeating tables (readback/tables.py) --------------------------------------------------------

#: a table cell is measured this far inside its printed borders (pt), so the rules never count
TABLE_CELL_MARGIN_PT = 2.5
#: a pixel darker than this (0–255 grey) is ink in a table cell
TABLE_DARK = 140
#: share of a cell's pixels that must be new ink (not on the blank) for the cell to hold something
TABLE_CELL_INK = 0.006
#: OCR score under which a row read without the household sheet goes to review (0–1)
TABLE_READ_BELOW = OCR_REVIEW_BELOW
