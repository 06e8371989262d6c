"""Every option of every ``fraudwatch`` command is described and states its default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from rich.text import Text
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from fraudwatch.cli import app

runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})


def _walk(
    command: typer.core.TyperCommand | TyperGroup, path: str, parent: typer.Context | None = None
) -> Iterator[tuple[str, typer.Context]]:
    context = typer.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent)
    yield path, context
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            assert isinstance(sub, typer.core.TyperCommand | TyperGroup)
            yield from _walk(sub, f"{path} {name}", context)


def _parameters() -> list[tuple[str, TyperOption | TyperArgument, typer.Context]]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    found = []
    for path, context in _walk(root, "fraudwatch"):
        for param in context.command.get_params(context):
            if param.name == "help":  # click's own --help
                continue
            assert isinstance(param, TyperOption | TyperArgument)
            found.append((f"{path} {param.name}", param, context))
    return found


PARAMETERS = _parameters()


def test_the_walk_sees_every_command_and_its_options() -> None:
    names = {name for name, _, _ in PARAMETERS}
    assert len(names) > 50
    assert {"fraudwatch simulate seed", "fraudwatch db upgrade database_url"} <= names


@pytest.mark.parametrize(
    ("name", "param", "context"), PARAMETERS, ids=[name for name, _, _ in PARAMETERS]
)
def test_every_option_has_help_that_shows_its_default(
    name: str, param: TyperOption | TyperArgument, context: typer.Context
) -> None:
    text = param.help or ""
    assert text.strip(), f"{name} has no help text"
    # the app renders help as Rich markup: "[default: X]" written in the text is eaten
    assert Text.from_markup(text).plain == text, f"{name}: Rich markup would eat part of {text!r}"
    if param.required or (isinstance(param, TyperOption) and param.is_flag):
        return  # a required value has no default; a flag is off unless given
    record = param.get_help_record(context)
    assert record is not None and "default:" in record[1], f"{name} does not show its default"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["simulate"], ["Random seed.", "(FRAUDWATCH_SEED)", "2019-01-01"]),
        (["demo"], ["Port of the feed.", "(FRAUDWATCH_FEED_PORT)", "(FRAUDWATCH_API_PORT)"]),
        (["serve"], ["Interface to listen on.", "(FRAUDWATCH_API_HOST)", "(the champion)"]),
    ],
)
def test_rendered_help_shows_descriptions_and_defaults(
    command: list[str], shown: list[str]
) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    for piece in shown:
        assert piece in result.output
    assert " ." not in result.output
