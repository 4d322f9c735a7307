"""``fanpin plugin new``: a working county plugin package to start from.

The package it writes (``files/``, filled in with :class:`string.Template`) has the
entry point, a :class:`~fanpin_forms.County` with every policy value stated (placeholders
marked 待核实), a spec extension of annex 2 and of the case ledger, one case rule and its
tests using :mod:`fanpin_forms.testing`; the tests pass as generated. The folder is
written under a temporary name and renamed, so it appears whole or not at all.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from string import Template

from ..errors import Code, FanpinError
from ..util.atomic import ensure_dir, write_error

FILES = Path(__file__).parent / "files"
CODE = re.compile(r"[a-z][a-z0-9_]{1,30}")
NAME = re.compile(r"[\u4e00-\u9fff]{1,10}(县|市|区|旗)")
PLACEHOLDER = "（待填写）"


def new_plugin(name: str, code: str, out: Path, *, province: str | None = None, city: str | None = None) -> list[Path]:
    """Write the package for county ``name`` (``平江县``) with entry point ``code``
    (``pingjiang``) into the new folder ``out``; return the files written."""
    if not CODE.fullmatch(code):
        raise FanpinError.of(Code.KIT_BAD_CODE, value=code)
    if not NAME.fullmatch(name):
        raise FanpinError.of(Code.KIT_BAD_NAME, name=name)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FanpinError.of(Code.KIT_OUT_EXISTS, path=str(out))
    values = {"name": name, "code": code, "short_name": name[:-1] if len(name) > 2 else name,
              "province": province or PLACEHOLDER, "city": city or PLACEHOLDER}
    targets = {"pyproject.toml.tmpl": "pyproject.toml", "README.md.tmpl": "README.md",
               "tests/test_plugin.py.tmpl": f"tests/test_{code}.py"}
    for tmpl in (FILES / "package").glob("*.tmpl"):
        targets[f"package/{tmpl.name}"] = f"fanpin_forms_{code}/{tmpl.name.removesuffix('.tmpl')}"
    ensure_dir(out.parent)
    staging = out.parent / f".{out.name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for src, dest in targets.items():
            path = staging / dest
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template((FILES / src).read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except OSError as exc:
        raise write_error(exc, out) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(out / dest for dest in targets.values())


__all__ = ["new_plugin"]
