"""The forms of an installation: every registered spec loaded, county replacements and
``extends:`` extensions applied, every problem reported at once.

This is the one place where specs are loaded *and* extended: :attr:`App.forms` uses
:func:`build_forms`, the spec check (``fanpin spec check``) uses :func:`check_spec_files`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..errors import Code, Location, Problem, SpecError, did_you_mean
from .fieldtypes import FieldType
from .model import FormSpec
from .spec import FormExtension, apply_extension, load_spec


def build_forms(sources: Iterable[tuple[str, Path]], types: Mapping[str, FieldType], *,
                replaceable: Callable[[FormSpec], bool],
                display: Callable[[Path], str] = str) -> dict[str, FormSpec]:
    """Load every ``(plugin, path)`` spec, then apply the extensions to their base forms.

    A later whole form with the id of an earlier one replaces it if ``replaceable(old)``
    (a built-in form), else it is a duplicate. Raises one :class:`SpecError` with every
    problem of every file."""
    forms: dict[str, FormSpec] = {}
    extensions: list[FormExtension] = []
    problems: list[Problem] = []
    for plugin, path in sources:
        path = Path(path)
        try:
            spec = load_spec(path, types, display_name=display(path), plugin=plugin)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(spec, FormExtension):
            extensions.append(spec)
            continue
        old = forms.get(spec.id)
        if old is not None and not replaceable(old):
            problems.append(Problem(Code.SPEC_DUPLICATE_FORM, {"form": spec.id, "first": old.source,
                                                               "second": spec.source}))
            continue
        forms[spec.id] = spec
    for ext in extensions:
        extended = _extend(forms, ext, types, problems, unknown_base_is_error=True)
        if extended is not None:
            forms[ext.extends] = extended
    if problems:
        raise SpecError(problems)
    return forms


def check_spec_files(paths: Iterable[Path], types: Mapping[str, FieldType],
                     installed: Callable[[], Mapping[str, FormSpec]]) -> int:
    """Spec check of the given files: each is loaded and, if it extends a known form,
    applied to it. Returns how many files passed; raises one :class:`SpecError` with
    every problem. An extension of a form not installed is checked on its own;
    ``installed`` (the installed forms) is called only when a file is an extension."""
    problems: list[Problem] = []
    ok = 0
    for path in paths:
        before = len(problems)
        try:
            spec = load_spec(path, types, display_name=str(path))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(spec, FormExtension):
            _extend(installed(), spec, types, problems, unknown_base_is_error=False)
        if len(problems) == before:
            ok += 1
    if problems:
        raise SpecError(problems)
    return ok


def _extend(forms: Mapping[str, FormSpec], ext: FormExtension, types: Mapping[str, FieldType],
            problems: list[Problem], *, unknown_base_is_error: bool) -> FormSpec | None:
    """``ext`` applied to its base form, or None (with the problem added to ``problems``)."""
    base = forms.get(ext.extends)
    if base is None:
        if unknown_base_is_error:
            line, col = ext.pos
            problems.append(Problem(Code.SPEC_EXTENDS_UNKNOWN,
                                    {"form": ext.extends, "hint": did_you_mean(ext.extends, list(forms))},
                                    Location(file=ext.source, line=line, column=col)))
        return None
    try:
        return apply_extension(base, ext, types)
    except SpecError as exc:
        problems.extend(exc.problems)
        return None
