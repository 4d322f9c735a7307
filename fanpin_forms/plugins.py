"""Finding and loading plugins.

Three sources, all registered the same way:

1. the built-in plugins in :data:`DEFAULT_PLUGINS` (modules of ``@hookimpl`` functions);
2. installed distributions with an entry point in the ``fanpin_forms`` group, e.g.
   ``[project.entry-points.fanpin_forms] yueyang = "fanpin_forms_yueyang"``;
   ``FANPIN_FORMS_LOAD_PLUGINS`` (comma-separated distribution names) limits which
   are loaded, ``FANPIN_FORMS_LOAD_PLUGINS=""`` loads none;
3. plugin objects passed in by a caller (tests).

Any failure names the plugin and its distribution. After registration
``check_pending()`` catches hooks with misspelled names.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
from dataclasses import dataclass

import pluggy

from . import __version__, hookspecs
from .errors import Code, FanpinError, PluginError, Problem

ENTRY_POINT_GROUP = hookspecs.NAME
ENV_PREFIX = "FANPIN_FORMS_"
ENV_LOAD_PLUGINS = ENV_PREFIX + "LOAD_PLUGINS"

DEFAULT_PLUGINS = (
    "fanpin_forms.default_plugins.core_types",
    "fanpin_forms.default_plugins.annex_forms",
    "fanpin_forms.default_plugins.core_checks",
    "fanpin_forms.default_plugins.case_ledger",
    "fanpin_forms.default_plugins.engines",
)


@dataclass(frozen=True)
class PluginInfo:
    """What ``fanpin plugins`` shows about one loaded plugin."""

    name: str
    dist: str
    version: str
    builtin: bool
    hooks: tuple[str, ...]


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))


def _validation_error(name: str, dist: str, exc: Exception) -> PluginError:
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pluggy.PluginValidationError):
        detail = str(exc)
        if "can not be found in the hookspec" in detail:
            why = "钩子函数的参数与规范不符：" + detail.splitlines()[-1]
        elif "unknown hook" in detail:
            why = "未知的钩子：" + detail.split("unknown hook", 1)[1].split(" in plugin", 1)[0].strip(" '")
    return PluginError(Problem(Code.PLUGIN_INVALID, {"plugin": name, "dist": dist, "why": why}))


def build_plugin_manager(extra_plugins: tuple[object, ...] = (), *, entry_points: bool = True
                         ) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """Create the plugin manager with every plugin registered and validated."""
    pm = pluggy.PluginManager(hookspecs.NAME)
    pm.add_hookspecs(hookspecs)
    origins: dict[str, tuple[str, str, bool]] = {}

    def register(plugin: object, name: str, dist: str, version: str, builtin: bool) -> None:
        try:
            pm.register(plugin, name=name)
        except ValueError:  # already registered under this name: keep the first
            return
        except Exception as exc:  # PluginValidationError and friends
            raise _validation_error(name, dist, exc) from None
        origins[name] = (dist, version, builtin)

    for dotted in DEFAULT_PLUGINS:
        register(importlib.import_module(dotted), dotted.rsplit(".", 1)[-1], "fanpin-forms", __version__, True)

    if entry_points:
        allowed = os.environ.get(ENV_LOAD_PLUGINS)
        allow = None if allowed is None else {n.strip().lower() for n in allowed.split(",") if n.strip()}
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist_name = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            if allow is not None and dist_name.lower() not in allow and dist_name.lower().replace("_", "-") not in allow:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                why = str(exc) if isinstance(exc, FanpinError) else f"{type(exc).__name__}: {exc}"
                raise PluginError(Problem(Code.PLUGIN_IMPORT, {"plugin": ep.name, "dist": dist_name,
                                                              "why": why})) from None
            register(plugin, ep.name, dist_name, version, False)

    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        register(plugin, name, "(test)", "", False)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        raise _validation_error(name, origins.get(name, ("?",))[0], exc) from None

    infos = {
        name: PluginInfo(name, dist, version, builtin, _hooks_of(pm, pm.get_plugin(name)))
        for name, (dist, version, builtin) in origins.items()
    }
    return pm, infos


def call_register_hook(pm: pluggy.PluginManager, hook_name: str, register_for_plugin) -> None:
    """Call a ``register_*`` hook plugin by plugin, so every registration is attributed.

    ``register_for_plugin(plugin_name)`` returns the ``register`` callback handed to
    that plugin. Built-ins run first, so later registrations can override them.
    """
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():  # registration order
        kwargs = {"register": register_for_plugin(impl.plugin_name)}
        impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
