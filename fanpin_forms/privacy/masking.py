"""Masking of sensitive values (ID numbers, phones, bank accounts, health details).

Every value that may identify a person must go through this module before it is
shown in a message, written to a log, or printed on a public document. A county
plugin may supply its own :class:`MaskPolicy` (e.g. keep 6 + 4 of an ID number).

Rules:

* ID numbers, phones and bank accounts keep a few characters at each end and
  replace the rest with ``mask_char``; the masked string has the same length.
* A string too short for ``keep_left + keep_right + 1`` characters is masked
  harder: at most a third of it (rounded down) is kept, so short values never
  come out in full.
* Free text (health details, anything else) is replaced entirely by ``***``.
* Any text shown to a person goes through :func:`scrub_shapes` (or :func:`scrub`,
  which ends with it): whatever :mod:`fanpin_forms.privacy.leakguard` reads as an ID number,
  a phone or a bank account — with separators, full-width or Chinese numerals — is
  masked, whichever column it was typed into.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .leakguard import FRAGMENT_MIN, Hit, find

__all__ = [
    "DEFAULT",
    "KINDS",
    "MaskPolicy",
    "mask_bank",
    "mask_hits",
    "mask_id",
    "mask_phone",
    "mask_text",
    "mask_value",
    "scrub",
    "scrub_shapes",
]


@dataclass(frozen=True)
class MaskPolicy:
    """How many characters to keep at each end, per kind of value."""

    id_keep_left: int = 4
    id_keep_right: int = 4
    phone_keep_left: int = 3
    phone_keep_right: int = 4
    bank_keep_left: int = 0
    bank_keep_right: int = 4
    mask_char: str = "*"

    def __post_init__(self) -> None:
        for name in (
            "id_keep_left",
            "id_keep_right",
            "phone_keep_left",
            "phone_keep_right",
            "bank_keep_left",
            "bank_keep_right",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"MaskPolicy.{name} must be a non-negative int, got {value!r}")
        # A digit or letter as mask character would make masked output look like data.
        char = self.mask_char
        if not isinstance(char, str) or len(char) != 1 or char.isalnum() or char.isspace():
            raise ValueError(
                f"MaskPolicy.mask_char must be one visible non-alphanumeric character, got {char!r}"
            )


DEFAULT = MaskPolicy()


def _mask_ends(s: str, keep_left: int, keep_right: int, mask_char: str) -> str:
    """Keep ``keep_left``/``keep_right`` characters of ``s`` and mask the rest.

    If ``s`` is shorter than ``keep_left + keep_right + 1``, keep at most
    ``len(s) // 3`` characters in total (shared between both ends, the right
    end getting the larger share, neither more than configured for it).
    """
    n = len(s)
    if n >= keep_left + keep_right + 1:
        left, right = keep_left, keep_right
    else:
        budget = n // 3
        left = min(keep_left, budget // 2)
        right = min(keep_right, budget - left)
        left = min(keep_left, budget - right)
    return s[:left] + mask_char * (n - left - right) + s[n - right :]


def mask_id(s: str, policy: MaskPolicy = DEFAULT) -> str:
    """Mask an ID number: ``430621198001013419`` -> ``4306**********3419``."""
    return _mask_ends(s, policy.id_keep_left, policy.id_keep_right, policy.mask_char)


def mask_phone(s: str, policy: MaskPolicy = DEFAULT) -> str:
    """Mask a phone number: ``13812345678`` -> ``138****5678``."""
    return _mask_ends(s, policy.phone_keep_left, policy.phone_keep_right, policy.mask_char)


def mask_bank(s: str, policy: MaskPolicy = DEFAULT) -> str:
    """Mask a bank account: ``6222021234567890123`` -> ``***************0123``."""
    return _mask_ends(s, policy.bank_keep_left, policy.bank_keep_right, policy.mask_char)


def mask_text(s: str, policy: MaskPolicy = DEFAULT) -> str:
    """Mask free text (e.g. health details) entirely: any non-empty text -> ``***``.

    The result does not depend on the length of ``s``, so nothing leaks.
    """
    return policy.mask_char * 3 if s else ""


_MASKERS: dict[str, Callable[[str, MaskPolicy], str]] = {
    "id_number": mask_id,
    "phone": mask_phone,
    "bank_account": mask_bank,
    "health": mask_text,
    "text": mask_text,
}

#: The kinds accepted by :func:`mask_value`.
KINDS: frozenset[str] = frozenset(_MASKERS)


def mask_value(kind: str, s: str, policy: MaskPolicy = DEFAULT) -> str:
    """Mask ``s`` as a value of ``kind`` (one of :data:`KINDS`).

    Raises :class:`ValueError` for an unknown kind (a programming error).
    """
    try:
        masker = _MASKERS[kind]
    except KeyError:
        raise ValueError(f"unknown mask kind {kind!r}; expected one of {sorted(KINDS)}") from None
    return masker(s, policy)


# --- scrubbing free text ---------------------------------------------------------

# A "numeric" secret: digits with common separators, optionally a final X (ID check char).
_NUMERIC_SECRET = re.compile(r"[\d\s\-()+]*\d[\d\s\-()+]*[Xx]?")
_ID_LIKE = re.compile(r"\d{17}[\dX]|\d{15}")
_PHONE_LIKE = re.compile(r"(?:0086|86)?1[3-9]\d{9}|0\d{9,11}")


def _masker_for(secret: str) -> Callable[[str, MaskPolicy], str]:
    """Guess the kind of a secret to pick its mask (ID, phone, bank account, text)."""
    compact = unicodedata.normalize("NFKC", secret)
    if not _NUMERIC_SECRET.fullmatch(compact):
        return mask_text
    squeezed = re.sub(r"\s", "", compact).upper()
    if _ID_LIKE.fullmatch(squeezed):
        return mask_id
    if _PHONE_LIKE.fullmatch(re.sub(r"\D", "", compact)):
        return mask_phone
    return mask_bank


def _digit_core(secret: str) -> str | None:
    """The digits of a numeric secret (separators and a final X dropped), else None."""
    compact = unicodedata.normalize("NFKC", secret)
    if not _NUMERIC_SECRET.fullmatch(compact):
        return None
    digits = re.sub(r"\D", "", compact)
    return digits if len(digits) >= FRAGMENT_MIN else None


def scrub(text: str, secrets: Iterable[str], policy: MaskPolicy = DEFAULT) -> str:
    """Make ``text`` (a log line, an error message) safe to show.

    * Every occurrence of each secret is replaced by its masked form; the kind
      (ID number, phone, bank account, free text) is guessed from the secret.
      Numeric secrets are also found with spaces/dashes between their digits
      (e.g. ``4306 2119 8001 0100 18``) and with a lower-case ``x``.
    * Every run of :data:`FRAGMENT_MIN` or more digits (also full-width) that is
      a substring of a numeric secret's digits is masked entirely, unless it is
      exactly what the mask of one full occurrence shows (only possible with a
      policy keeping 6+ characters at one end). This catches fragments such as
      the birth-date part, and digits of the text that join a shown end.

    Free-text secrets (names, health details) become ``***``; very short secrets
    are replaced wherever they occur, so pass only values that are really secret.
    Every ID-, phone- or bank-shaped number is masked (:func:`scrub_shapes`) before the
    secrets are looked for, and again after: masking a secret's fragment inside another
    number must not break that number's shape and leave the rest of it readable.
    """
    secrets = list(secrets)
    return scrub_shapes(_scrub_secrets(_scrub_other_shapes(text, secrets, policy), secrets, policy), policy)


def _scrub_other_shapes(text: str, secrets: list[str], policy: MaskPolicy) -> str:
    """``text`` with every private-shaped number masked except the secrets themselves (those are
    masked, fragments and all, by :func:`_scrub_secrets`)."""
    own = {_digit_key(s) for s in secrets if s}
    hits = [h for h in find(text) if not h.positions or _digit_key("".join(text[i] for i in h.positions)) not in own]
    return mask_hits(text, hits, policy) if hits else text


def _digit_key(value: str) -> str:
    """The digits (and a final X) of ``value``, full-width and separators folded away."""
    return "".join(c for c in unicodedata.normalize("NFKC", value).upper() if c.isdigit() or c == "X")


def _scrub_secrets(text: str, secrets: Iterable[str], policy: MaskPolicy) -> str:
    ordered = sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True)
    if not ordered:
        return text

    # 1. Free-text secrets: replace outright (the mask has another length).
    for secret in ordered:
        if _masker_for(secret) is mask_text:
            text = re.sub(re.escape(secret), mask_text(secret, policy), text)

    # 2. Numeric secrets: masks of the same length, so positions stay valid.
    #    Each secret is looked for as given, then as its digits with any spaces
    #    or dashes in between (e.g. "4306 2119 8001 0100 18"); in the latter case
    #    the digits are masked and the separators kept.
    chars = list(text)
    taken = [False] * len(chars)
    # (start, end) of each full occurrence, and the positions its mask shows.
    spans: list[tuple[int, int]] = []
    shown: set[int] = set()
    for secret in ordered:
        masker = _masker_for(secret)
        if masker is mask_text:
            continue
        for pattern in _occurrence_patterns(secret):
            for m in pattern.finditer(text):
                start, end = m.span()
                if any(taken[start:end]):
                    continue
                found = m.group()
                positions = [i for i in range(start, end) if not _is_separator(found[i - start])]
                masked = masker("".join(text[i] for i in positions), policy)
                for i, c in zip(positions, masked):
                    chars[i] = c
                    if c != policy.mask_char:
                        shown.add(i)
                for i in range(start, end):
                    taken[i] = True
                spans.append((start, end))

    # 3. Fragments: repeat until no digit run holds a 6+ digit piece of a secret
    #    other than what a single full occurrence's mask deliberately shows.
    cores = [c for c in (_digit_core(s) for s in ordered) if c]
    changed = bool(cores)
    while changed:
        changed = False
        current = "".join(chars)
        for run in re.finditer(r"\d{%d,}" % FRAGMENT_MIN, current):
            # Full-width digits count too: compare their ASCII values.
            digits = "".join(str(unicodedata.digit(c)) for c in run.group())
            base = run.start()
            for i in range(len(digits) - FRAGMENT_MIN + 1):
                length = _longest_piece(digits, i, cores)
                if length < FRAGMENT_MIN:
                    continue
                window = range(base + i, base + i + length)
                if _inside_one_shown_span(window, spans, shown):
                    continue
                for j in window:
                    if chars[j] != policy.mask_char:
                        chars[j] = policy.mask_char
                        changed = True
            if changed:
                break  # runs have changed: rescan the text
    return "".join(chars)


def _is_separator(c: str) -> bool:
    return c.isspace() or c == "-"


def _occurrence_patterns(secret: str) -> list[re.Pattern[str]]:
    """Patterns for a numeric secret: as given, and digits with separators between."""
    patterns = [re.compile(re.escape(secret), re.IGNORECASE)]
    compact = unicodedata.normalize("NFKC", secret)
    symbols = re.sub(r"[^\dXx]", "", compact)
    if len(symbols) >= 2:
        patterns.append(re.compile(r"[\s\-]*".join(re.escape(c) for c in symbols), re.IGNORECASE))
    return patterns


def _longest_piece(digits: str, start: int, cores: list[str]) -> int:
    """Length of the longest prefix of ``digits[start:]`` found inside any core."""
    best = 0
    for core in cores:
        length = best + 1
        while start + length <= len(digits) and digits[start : start + length] in core:
            best = length
            length += 1
    return best


def _inside_one_shown_span(window: range, spans: list[tuple[int, int]], shown: set[int]) -> bool:
    """True if every position of ``window`` is shown by the mask of one full occurrence."""
    for start, end in spans:
        if start <= window.start and window.stop <= end:
            return all(i in shown for i in window)
    return False


# --- masking what the leak guard finds -------------------------------------------

def _number_masker(kind: str) -> Callable[[str, MaskPolicy], str]:
    masker = _MASKERS.get(kind, mask_bank)
    return mask_bank if masker is mask_text else masker


def mask_hits(text: str, hits: Iterable[Hit], policy: MaskPolicy = DEFAULT) -> str:
    """``text`` with each hit of :func:`fanpin_forms.privacy.leakguard.find` masked.

    A number keeps what its kind's mask keeps (4 + 4 of an ID number, 3 + 4 of a
    phone, the last 4 of an account) in the characters it was written with, and its
    separators; words (health details) become ``***``."""
    chars: list[str | None] = list(text)
    for hit in hits:
        if not hit.positions:
            chars[hit.start:hit.end] = [None] * (hit.end - hit.start)
            continue
        plan = _number_masker(hit.kind)("0" * len(hit.positions), policy)
        for i, c in zip(hit.positions, plan):
            if c == policy.mask_char and chars[i] is not None:
                chars[i] = policy.mask_char
    out: list[str] = []
    for i, c in enumerate(chars):
        if c is not None:
            out.append(c)
        elif i == 0 or chars[i - 1] is not None:
            out.append(mask_text("x", policy))
    return "".join(out)


def scrub_shapes(text: str, policy: MaskPolicy = DEFAULT) -> str:
    """``text`` with every ID-, phone- and bank-account-shaped number masked, in any column.

    Dates (2022-06-01), 户编号 such as YY-0001, row numbers, years and amounts are
    not private shapes and stay as they are."""
    hits = find(text)
    return mask_hits(text, hits, policy) if hits else text
