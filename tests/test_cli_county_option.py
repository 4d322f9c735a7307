"""``--county`` is accepted after the command name by every command, as before it."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from fanpin_forms.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


COMMANDS = list(_commands(cli))


def test_the_walk_finds_the_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"fill", "blank", "validate", "parse", "check", "ledger import"} <= names


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_takes_county_after_its_name(path, cmd):
    assert any("--county" in p.opts for p in cmd.params if isinstance(p, click.Option)), path
    result = CliRunner().invoke(cli, [*path, "--county", "yueyang", "--help"])
    assert result.exit_code == 0, result.output
    assert "--county" in result.output


def test_county_after_the_name_is_used():
    before = CliRunner().invoke(cli, ["--county", "yueyang", "fields", "annex2"])
    after = CliRunner().invoke(cli, ["fields", "annex2", "--county", "yueyang"])
    assert before.exit_code == after.exit_code == 0
    assert after.output == before.output


def test_an_unknown_county_after_the_name_is_a_chinese_error():
    result = CliRunner().invoke(cli, ["fields", "annex2", "--county", "no-such-county"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "no-such-county" in result.output and any("\u4e00" <= ch <= "\u9fff" for ch in result.output)
