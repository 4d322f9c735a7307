"""Comments and docs speak of the code, not of who wrote it or why it was asked for,
and name files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORDS = re.compile(r"\bthe (?:lead|team)\b|\b(?:for |in )?issue #?\d+|\bcli\.py\b|plugins --checks", re.IGNORECASE)


def _files() -> list[Path]:
    out = []
    for top in ("fanpin_forms", "plugins", "docs", "tests", "benchmarks", "samples", "form_specs"):
        out.extend(p for p in (ROOT / top).rglob("*") if p.suffix in {".py", ".md", ".yaml", ".html", ".txt"}
                   and p.name != Path(__file__).name and ".egg-info" not in str(p))
    return out


def test_there_are_files_to_look_at():
    assert len(_files()) > 50


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_word_of_the_team_issues_or_stale_files(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    hits = [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if WORDS.search(line)]
    assert hits == []
