"""Every hook fanpin-forms calls; a plugin implements any subset of them.

What each hook is for, when it runs and an example: ``docs/plugin_hooks.md`` (a test
keeps the two in step). Implementations may accept any subset of a hook's arguments
but must not give them default values: pluggy never passes arguments with defaults.
"""

from __future__ import annotations

import pluggy

NAME = "fanpin_forms"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def register_counties(register):
    """Call ``register(County(...))`` for each county this plugin describes."""


@hookspec
def register_field_types(register):
    """Call ``register(field_type)`` with a ``FieldType`` instance for each ``type:`` keyword."""


@hookspec
def register_forms(register):
    """Call ``register(path)`` for each form spec file (``form:`` or ``extends:``)."""


@hookspec
def register_checks(register):
    """Call ``register(check)`` for each record check ``check(record, form, county)``
    (run by validate, fill and parse; not by ``fanpin check``, which runs case rules)."""


@hookspec
def register_templates(register):
    """Call ``register(form_id, path)`` for each DOCX template the county ships: fill and
    blank print with it (``templates check`` runs on it first), read-back compares scans with it."""


@hookspec
def register_commands(cli):
    """Add commands to ``cli``, the root ``click.Group`` (called in ``main()``)."""


@hookspec
def register_rules(register):
    """Call ``register(rule)`` for each case rule ``rule(case, county, as_of)`` that
    ``fanpin check`` runs over the case ledger sheet."""


@hookspec
def register_notices(register):
    """Call ``register(columns=…, village_columns=…, county_columns=…, wording=…)`` once: the chosen
    county's notice columns (never a sensitive one) and wording; the leak guard still runs."""


@hookspec(firstresult=True)
def ocr_engine():
    """Return the OCR engine read-back uses (called like RapidOCR); the first answer wins."""


@hookspec(firstresult=True)
def pdf_converter():
    """Return the DOCX → PDF converter ``convert(docx_paths, out_dir, *, timeout)``; the first answer wins."""
