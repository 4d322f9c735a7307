"""Click plumbing shared by every command: the error boundary and the app decorator.

Commands call the library and never catch domain errors themselves:
:class:`FanpinCommand` turns every :class:`~fanpin_forms.errors.FanpinError` into a
``ClickException`` (exit 1, every problem listed, no traceback). Plugins that add
commands through ``register_commands`` use the same classes.
"""

from __future__ import annotations

import contextlib
import sys

import click

from ..app import App
from ..errors import FanpinError, Problem

MAX_SHOWN = 200  # problems printed before "…还有 N 条"


class FanpinCommand(click.Command):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FanpinError as exc:
            raise click.ClickException(format_problems(exc.problems)) from None


class FanpinGroup(click.Group):
    command_class = FanpinCommand
    group_class = type  # subgroups are FanpinGroup too

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FanpinError as exc:
            raise click.ClickException(format_problems(exc.problems)) from None


def format_problems(problems: list[Problem]) -> str:
    lines = [("提示：" if p.severity == "warning" else "") + str(p) for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"……还有 {len(problems) - MAX_SHOWN} 条问题未显示")
    if len(problems) > 1:
        lines.append(f"共 {len(problems)} 个问题。")
    return "\n".join(lines)


pass_app = click.make_pass_decorator(App)


def echo_problems(problems: list[Problem], *, err: bool = True) -> None:
    for p in problems[:MAX_SHOWN]:
        prefix = "提示：" if p.severity == "warning" else ""
        click.echo(prefix + str(p), err=err)
    if len(problems) > MAX_SHOWN:
        click.echo(f"……还有 {len(problems) - MAX_SHOWN} 条未显示", err=err)


@contextlib.contextmanager
def progress(label: str):
    """``(start, update)`` for a progress bar on stderr, only when stderr is a terminal.

    Call ``start(total)`` once the total is known, then ``update(n)`` per n items done."""
    bar = None

    def start(total: int) -> None:
        nonlocal bar
        if total and sys.stderr.isatty():
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()

    def update(n: int) -> None:
        if bar is not None:
            bar.update(n)

    try:
        yield start, update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
