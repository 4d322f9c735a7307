"""The ``fanpin`` command line: the root group and where each command lives.

* ``forms.py``  — spec check, forms, fields, plugins, validate (data in)
* ``render.py`` — templates build/check, fill, blank (paper out)
* ``cases.py``  — check, notice (case rules, public notices)
* ``readback.py`` — parse, review apply (signed scans back into records)
* ``ledger.py`` — db upgrade, ledger import/export/status/history (the case ledger)
* ``policy.py`` — policy set/show (policy values kept in the ledger)
* ``report.py`` — report monthly (the township's monthly report)
* ``service.py`` — serve, user add|list (the web service and its accounts)
* ``base.py``   — the error boundary and ``pass_app`` every command uses

One :class:`~fanpin_forms.app.App` lives in ``ctx.obj``. User-facing text is Chinese.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys

import click

from .. import __version__
from ..app import ENV_COUNTY, App
from ..errors import Code, FanpinError
from . import cases, forms, ledger, plugin, policy, readback, render, report, service
from .base import COUNTY_HELP, FanpinCommand, _from_environment, FanpinGroup, echo_problems, format_problems, pass_app


@click.group(cls=FanpinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--county", envvar=ENV_COUNTY, metavar="县", help=COUNTY_HELP)
@ledger.db_option
@click.version_option(__version__, prog_name="fanpin")
@click.pass_context
def cli(ctx: click.Context, county: str | None) -> None:
    """防止返贫动态监测和帮扶表单工具：校验农户信息表、批量填表、读取回收的签字扫描件、检查监测对象台账。"""
    if ctx.obj is None:
        ctx.obj = _make_app()
    ctx.obj.ledger_location = lambda: ctx.meta.get(ledger.DB_META)
    if county:
        ctx.obj.choose_county(county, from_environment=_from_environment(ctx))


def _make_app() -> App:
    try:
        return App()
    except FanpinError as exc:
        raise click.ClickException(format_problems(exc.problems)) from None


for _module in (forms, render, cases, readback, ledger, policy, report, service, plugin):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


#: signals that end a run cleanly: Ctrl-C, ``kill``, the terminal closing
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A stop signal, raised in the main thread so that every ``finally`` and
    ``except BaseException`` on the way out runs (temporary files, LibreOffice, pool
    workers). Not a KeyboardInterrupt, which Click would turn into "Aborted!"."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_stop_signal(signum: int, _frame: object) -> None:
    for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def main() -> None:
    """Console-script entry point: load plugins once, let them add commands, run.

    Sweeps what runs killed with ``kill -9`` left in the temp folder first. A stop
    signal prints 已中断 and exits with 128 + the signal's number (130 for Ctrl-C)."""
    from ..util.atomic import sweep_private

    # library log records (SQLAlchemy's pool noting a connection closed by Ctrl-C, say) are not
    # messages for the clerk: without a handler Python would print them, tracebacks and all
    logging.getLogger().addHandler(logging.NullHandler())
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop_signal)
    try:
        sweep_private()
        try:
            app = _make_app()
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        app.pm.hook.register_commands(cli=cli)
        cli.main(prog_name="fanpin", obj=app)
    except Interrupted as exc:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            click.echo(f"\n{Code.IO_INTERRUPTED.format()}", err=True)
        sys.exit(128 + exc.signum)


__all__ = ["FanpinCommand", "FanpinGroup", "cli", "echo_problems", "main", "pass_app"]
