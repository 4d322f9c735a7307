"""The application object: plugins loaded, county chosen, forms, record checks and case rules collected.

The CLI builds one :class:`App` and keeps it in ``ctx.obj``; tests and other
programs use it directly. Everything is computed on first use, so ``fanpin
plugins`` works even when no county is chosen yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .forms.county import County
from .errors import Code, FanpinError, PluginError, Problem, did_you_mean
from .forms.fieldtypes import FieldType
from .forms.model import FormSpec
from .plugins import ENV_PREFIX, PluginInfo, build_plugin_manager, call_register_hook
from .forms.catalog import build_forms

if TYPE_CHECKING:
    from .intake.records import LoadResult

ENV_COUNTY = ENV_PREFIX + "COUNTY"


class App:
    def __init__(self, county: str | None = None, *, extra_plugins: tuple[object, ...] = (),
                 entry_points: bool = True, db: str | None = None):
        self.pm, self.plugin_infos = build_plugin_manager(extra_plugins, entry_points=entry_points)
        self._county_choice = county or os.environ.get(ENV_COUNTY) or None
        self._county_given = bool(county)  # chosen by the program that built the App
        #: where the ledger is (``--db``; None: the environment or the default file), asked on first use
        self.ledger_location: Callable[[], str | None] = lambda: db
        from .office.converter import use_provider

        use_provider(self.pm.hook.pdf_converter)  # DOCX → PDF through the hook (LibreOffice by default)

    def choose_county(self, county: str, *, from_environment: bool = False) -> None:
        """Choose the county (before anything county-dependent has been computed). A choice
        that only comes from ``FANPIN_FORMS_COUNTY`` does not replace the one the App was built with."""
        if from_environment and self._county_given:
            return
        chosen = self.__dict__.get("plugin_county")
        if chosen is not None and chosen.code != county and chosen.name != county:
            raise RuntimeError("county already chosen")
        self._county_choice = county

    # -- registries -----------------------------------------------------------

    def _collect(self, hook: str, what: str, key: Callable[[object], str] | None = None,
                 check: Callable[[object], str | None] | None = None) -> list[tuple[str, object]]:
        """Call a register_* hook; return (plugin, item) pairs; reject invalid items."""
        items: list[tuple[str, object]] = []

        def for_plugin(plugin: str):
            def register(*args: object) -> None:
                item = args[0] if len(args) == 1 else args
                why = check(item) if check else None
                if why:
                    raise PluginError(Problem(Code.PLUGIN_BAD_REGISTRATION, {"plugin": plugin, "what": what, "why": why}))
                items.append((plugin, item))
            return register

        call_register_hook(self.pm, hook, for_plugin)
        return items

    @cached_property
    def field_types(self) -> dict[str, FieldType]:
        out: dict[str, FieldType] = {}
        owner: dict[str, str] = {}
        for plugin, ftype in self._collect(
                "register_field_types", "字段类型",
                check=lambda t: None if isinstance(t, FieldType) and t.name else "应为 FieldType 的实例且有 name"):
            if ftype.name in out:
                raise PluginError(Problem(Code.PLUGIN_BAD_REGISTRATION, {
                    "plugin": plugin, "what": "字段类型", "why": f"类型「{ftype.name}」已由 {owner[ftype.name]} 注册"}))
            out[ftype.name], owner[ftype.name] = ftype, plugin
        return out

    @cached_property
    def counties(self) -> dict[str, tuple[str, County]]:
        """county code → (plugin name, County), over every installed plugin."""
        out: dict[str, tuple[str, County]] = {}
        for plugin, county in self._collect("register_counties", "县",
                                            check=lambda c: None if isinstance(c, County) else "应为 County 的实例"):
            if county.code in out:
                raise PluginError(Problem(Code.COUNTY_DUPLICATE, {"county": county.code, "first": out[county.code][0],
                                                                 "second": plugin}))
            out[county.code] = (plugin, county)
        return out

    @cached_property
    def county(self) -> County:
        """The chosen county with the policy values its office set in the ledger (``fanpin policy
        set``) in place of the plugin's, when a ledger exists: the one place they are looked up."""
        county = self.plugin_county
        from .ledger.db import existing_ledger

        ledger = existing_ledger(self.ledger_location())
        if ledger is None:
            return county
        from .ledger.policy import baseline_overrides, with_overrides

        try:
            return with_overrides(county, baseline_overrides(ledger))
        finally:
            ledger.close()

    @cached_property
    def county_plugin(self) -> str:
        """The name of the plugin that registered the chosen county."""
        return self.counties[self.plugin_county.code][0]

    @cached_property
    def plugin_county(self) -> County:
        """The chosen county as its plugin registered it. Plugins of the other counties are switched off."""
        counties = self.counties
        known = "、".join(f"{code}（{c.name}）" for code, (_, c) in sorted(counties.items())) or "无"
        choice = self._county_choice
        if choice is None:
            if not counties:
                raise FanpinError.of(Code.COUNTY_NONE)
            if len(counties) > 1:
                raise FanpinError.of(Code.COUNTY_AMBIGUOUS, known=known)
            choice = next(iter(counties))
        by_name = {c.name: code for code, (_, c) in counties.items()}
        choice = by_name.get(choice, choice)
        if choice not in counties:
            raise FanpinError.of(Code.COUNTY_UNKNOWN, county=choice, known=known,
                                 hint=did_you_mean(choice, [*counties, *by_name]))
        chosen_plugin = counties[choice][0]
        for plugin, _ in counties.values():
            if plugin != chosen_plugin and self.pm.get_plugin(plugin) is not None:
                self.pm.unregister(name=plugin)
        return counties[choice][1]

    @cached_property
    def forms(self) -> dict[str, FormSpec]:
        """Every form, with county replacements and extensions applied."""
        self.county  # noqa: B018 -- choosing the county switches off the other counties' plugins
        types = self.field_types
        builtin = {name for name, info in self.plugin_infos.items() if info.builtin}
        return build_forms(self._collect("register_forms", "表单定义文件"), types,
                           replaceable=lambda old: old.plugin in builtin, display=_display)

    def form(self, form_id: str) -> FormSpec:
        forms = self.forms
        if form_id not in forms:
            raise FanpinError.of(Code.SPEC_UNKNOWN_FORM, form=form_id, known="、".join(sorted(forms)),
                                 hint=did_you_mean(form_id, list(forms)))
        return forms[form_id]

    @cached_property
    def record_checks(self) -> list[tuple[str, Callable]]:
        """(plugin, check) for every record check (``register_checks``) of the chosen county:
        run on each row by validate and fill; not the case rules of ``fanpin check``."""
        self.county  # noqa: B018
        return [(plugin, fn) for plugin, fn in self._collect(
            "register_checks", "检查", check=lambda f: None if callable(f) else "应为函数")]

    @cached_property
    def rules(self) -> list[tuple[str, Callable]]:
        """(plugin, rule) for every registered case rule of the chosen county (``fanpin check``).
        A rule that reads a column the case ledger does not declare is an error here, when the
        rules are loaded (:func:`~fanpin_forms.cases.rules.unknown_columns`), not on the first case."""
        from .cases.rules import unknown_columns

        self.county  # noqa: B018
        rules = [(plugin, fn) for plugin, fn in self._collect(
            "register_rules", "规则", check=lambda f: None if callable(f) else "应为函数")]
        problems = unknown_columns(rules, self.form("ledger"))
        if problems:
            raise PluginError(problems)
        return rules

    @cached_property
    def templates(self) -> dict[str, Path]:
        """form id → the DOCX template the chosen county's plugin ships for it."""
        self.county  # noqa: B018  (the other counties' plugins are switched off first)
        out: dict[str, Path] = {}
        for plugin, (form_id, path) in self._collect(
                "register_templates", "模板",
                check=lambda item: None if isinstance(item, tuple) and len(item) == 2 and Path(item[1]).is_file()
                else "应为 register(表单编号, 模板文件路径)，且文件存在"):
            if form_id in out:
                raise PluginError(Problem(Code.PLUGIN_BAD_REGISTRATION, {
                    "plugin": plugin, "what": "模板", "why": f"表单「{form_id}」的模板已注册过"}))
            self.form(form_id)
            out[form_id] = Path(path)
        return out

    @cached_property
    def notice_style(self):
        """The chosen county's notice columns and wording (``register_notices``), checked:
        a sensitive or unknown column, or a sentence that cannot be reworded, is an error."""
        from .cases.notices.style import DEFAULT_STYLE, notice_style

        self.county  # noqa: B018  (the other counties' plugins are switched off first)
        ledger = self.form("ledger")
        found: list[tuple[str, object]] = []

        def for_plugin(plugin: str):
            def register(**kwargs) -> None:
                style, problems = notice_style(plugin, ledger, **kwargs)
                if problems:
                    raise PluginError(problems)
                if found:
                    raise PluginError(Problem(Code.PLUGIN_BAD_REGISTRATION, {
                        "plugin": plugin, "what": "公示公告样式", "why": f"已由 {found[0][0]} 注册过"}))
                found.append((plugin, style))
            return register

        call_register_hook(self.pm, "register_notices", for_plugin)
        return found[0][1] if found else DEFAULT_STYLE

    def load_and_check(self, form: FormSpec, data: Path, *, sheet: str | None = None) -> LoadResult:
        """:func:`~fanpin_forms.intake.load.load_and_check` with this installation's county,
        field types and record checks."""
        from .intake.load import load_and_check

        return load_and_check(form, data, county=self.county, field_types=self.field_types,
                              record_checks=self.record_checks, sheet=sheet)

    def plugins(self) -> list[PluginInfo]:
        return list(self.plugin_infos.values())

    def ledger_setup(self):
        """What the case ledger needs (:class:`~fanpin_forms.ledger.setup.LedgerSetup`): the
        ledger form, the county, the field types and the record checks."""
        from .ledger.setup import FORM, LedgerSetup

        return LedgerSetup(form=self.form(FORM), county=self.county, field_types=self.field_types,
                           record_checks=self.record_checks)

    def read_setup(self):
        """What reading returned paper needs (:class:`~fanpin_forms.readback.setup.ReadSetup`),
        made once: read-back gets the county, types, forms and the printing functions
        from here, never this object."""
        setup = self.__dict__.get("_read_setup")
        if setup is None:
            import functools

            from .readback.ocr import use_provider

            use_provider(self.pm.hook.ocr_engine)  # the OCR engine through the hook (RapidOCR by default)

            from .readback.setup import Printer, ReadSetup
            from .render.context import record_context
            from .render.fill import compile_for
            from .render.pdfout import merged_pdf

            setup = self.__dict__["_read_setup"] = ReadSetup(
                county=self.county, field_types=self.field_types, forms=self.forms,
                printer=Printer(compile=functools.partial(_compile_with, self.templates, compile_for),
                                context=record_context, to_pdf=merged_pdf),
                load_records=self.load_and_check,
                rebuild=functools.partial(read_setup_for, getattr(self.county, "code", None)))
        return setup


def _compile_with(templates: dict[str, Path], compile_for: Callable, form: FormSpec, template=None):
    """``compile_for`` with the county's own template when none is given."""
    return compile_for(form, template if template is not None else templates.get(form.id))


def read_setup_for(county: str | None):
    """The read setup of a fresh :class:`App` for ``county`` (how a read-back worker process makes its own)."""
    return App(county).read_setup()


def _display(path: Path) -> str:
    """A spec path as short as it can be while still findable: relative to cwd if under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
