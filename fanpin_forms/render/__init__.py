"""Printing the forms: DOCX templates built from the specs, filled fast, with a QR page id.

* :mod:`.template` — ``build_template(form) -> bytes`` (python-docx), the official layout;
* :mod:`.context` — ``record_context(form, record | None, county, year, ident)``, every
  value already as printed text (tags in the template are plain ``{{ name }}``);
* :mod:`.compiled` — :class:`CompiledTemplate` (Jinja compiled once, sandboxed, autoescaped;
  atomic writes); :mod:`.merge` — ``render_merged``, many copies in one DOCX;
* :mod:`.fill` — ``fill_batch`` (process pool for big batches, all or nothing);
* :mod:`.qr` — ``qr_png``, the page id drawn (its payload is :mod:`fanpin_forms.pagemark`);
* :mod:`.check` — ``check_template`` for county-edited templates;
* :mod:`.filenames` — safe output file names; :mod:`.pdfout` — PDFs through LibreOffice.
"""

from importlib import import_module

#: each public name and the module it lives in; imported on first use (PEP 562), so
#: importing one submodule (or this package) loads nothing else
_WHERE = {
    "record_context": "context", "record_ident": "context",
    "CompiledTemplate": "compiled",
    "DEFAULT_PATTERN": "fill", "compile_for": "fill", "fill_batch": "fill",
    "render_merged": "merge",
    "qr_png": "qr",
    "build_template": "template",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
