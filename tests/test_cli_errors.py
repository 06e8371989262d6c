"""A missing or unreadable input file is one clear line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fraudwatch.cli import app

runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})
FIXTURE = str(Path(__file__).parent / "fixtures" / "kaggle_fraudTest_head.csv")

MISSING = "no/such/transactions.csv"
COMMANDS = [
    (["validate", MISSING], "DATA"),
    (["train", "--data", MISSING], "--data"),
    (["score", "--data", MISSING, "--out", "scores.csv"], "--data"),
    (["score", "--data", FIXTURE, "--history", MISSING, "--out", "scores.csv"], "--history"),
    (["score", "--data", FIXTURE, "--model-dir", MISSING, "--out", "scores.csv"], "--model-dir"),
    (["evaluate", "--scores", MISSING, "--labels", FIXTURE], "--scores"),
    (["evaluate", "--scores", FIXTURE, "--labels", MISSING], "--labels"),
    (["run", "--source", MISSING], "--source"),
    (["run", "--source", FIXTURE, "--model-dir", MISSING], "--model-dir"),
    (["feed", "--source", MISSING], "--source"),
    (["serve", "--model-dir", MISSING], "--model-dir"),
]


def _one_line_error(result: Result, option: str, path: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fraudwatch: error: ")
    assert option in lines[0] and repr(path) in lines[0]
    return lines[0]


@pytest.mark.parametrize(("args", "option"), COMMANDS, ids=[" ".join(a[:2]) for a, _ in COMMANDS])
def test_a_missing_file_is_one_line_and_exit_code_2(
    args: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = _one_line_error(runner.invoke(app, args), option, MISSING)
    assert "No such file or directory" in line
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize("command", ["validate", "train", "score", "run"])
def test_an_unreadable_file_is_one_line_and_exit_code_2(command: str, tmp_path: Path) -> None:
    folder = str(tmp_path)  # a folder given where a file is wanted cannot be read as one
    args = {
        "validate": ["validate", folder],
        "train": ["train", "--data", folder],
        "score": ["score", "--data", folder, "--out", str(tmp_path / "s.csv")],
        "run": ["run", "--source", folder],
    }[command]
    line = _one_line_error(runner.invoke(app, args), "", folder)
    assert "Is a directory" in line
