"""Every hook fanpin-forms calls. A plugin implements any subset of them.

Built-in behaviour is itself a set of plugins (``fanpin_forms/default_plugins/``),
registered exactly like a county plugin found through the ``fanpin_forms`` entry-point
group. Registry hooks receive a ``register`` callback (as in ``llm``) so the host can
attribute, de-duplicate and validate what each plugin supplies and name the plugin
in any error.

Implementations may accept any subset of a hook's arguments, but must not give
them default values: pluggy never passes arguments that have defaults.
"""

from __future__ import annotations

import pluggy

NAME = "fanpin_forms"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def register_counties(register):
    """Register the counties this plugin describes.

    Called once, when the app starts. Call ``register(county)`` with a
    :class:`fanpin_forms.forms.county.County` for each county. When several counties are
    installed the user picks one (``--county`` or ``FANPIN_FORMS_COUNTY``); the
    plugins of the counties not picked are switched off for that run, so a county
    plugin's other hooks only ever apply to its own county. Returns nothing.
    """


@hookspec
def register_field_types(register):
    """Register field types that specs may use in ``type:``.

    Called once, before any spec is loaded. Call ``register(field_type)`` with an
    instance of a :class:`fanpin_forms.forms.fieldtypes.FieldType` subclass; its ``name``
    is the spec keyword. Registering a name twice is an error naming both plugins.
    Returns nothing.
    """


@hookspec
def register_forms(register):
    """Register form spec files (YAML).

    Called once, after the field types are known. Call ``register(path)`` for each
    spec file. A spec with ``form: ID`` defines a form; one registered by a county
    or third-party plugin replaces a built-in form with the same ID. A spec with
    ``extends: ID`` adds fields, code lists, printed blocks and notes to that form.
    Spec errors are reported as ``file:line:column`` and stop the app. Returns nothing.
    """


@hookspec
def register_checks(register):
    """Register record checks, run after a record's values have been parsed.

    Called once. Call ``register(check)`` where ``check(record, form, county)``
    returns an iterable of :class:`fanpin_forms.intake.checks.Finding` (or None). ``record``
    is a :class:`fanpin_forms.intake.records.Record`, ``form`` its
    :class:`~fanpin_forms.forms.model.FormSpec`, ``county`` the chosen
    :class:`~fanpin_forms.forms.county.County`. The check's docstring is shown to users
    by ``fanpin plugins --checks``. Returns nothing.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``fanpin`` command line.

    Called once when the CLI module is imported; ``cli`` is the root
    :class:`click.Group`. Use ``@cli.command()`` to add a command. Returns nothing.
    """


@hookspec
def register_rules(register):
    """Register case rules: the procedure's time limits and steps, checked over a case ledger.

    Called once. Call ``register(rule)`` where ``rule(case, county, as_of)`` returns
    an iterable of :class:`fanpin_forms.cases.rules.RuleFinding` (or None). ``case`` is a
    :class:`fanpin_forms.cases.rules.Case` (one household of the ``ledger`` form), ``county``
    the chosen :class:`~fanpin_forms.forms.county.County` (read every limit from it, so a
    county that only changes values reuses the rule), ``as_of`` the
    :class:`datetime.date` of ``fanpin check --as-of`` or None. Decorate a rule with
    :func:`fanpin_forms.cases.rules.rule` to give it a title and the notice's words as
    its source; its docstring is its documentation. ``fanpin check`` runs them.
    Returns nothing.
    """
