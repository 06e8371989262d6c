"""The command-line front: each command runs end to end, with clear errors and no PAN shown."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fraudwatch.cli import app
from fraudwatch.schema import KAGGLE_COLUMNS, SCENARIO_COLUMN

runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})
PAN_RUN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "validate", "feed", "poll", "demo", "train", "run", "serve", "db"):
        assert command in result.output


def test_simulate_writes_a_kaggle_layout_file(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    args = ["simulate", "--customers", "20", "--start", "2020-01-01", "--end", "2020-02-01"]
    result = runner.invoke(app, [*args, "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col=0)
    assert list(frame.columns) == [*KAGGLE_COLUMNS, SCENARIO_COLUMN]
    assert len(frame) > 500
    assert "rows" in result.output


def test_simulate_split_writes_train_and_test(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    result = runner.invoke(
        app,
        ["simulate", "--customers", "15", "--start", "2020-01-01", "--end", "2020-03-01",
         "--split-at", "2020-02-01", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    train = pd.read_csv(tmp_path / "sim_train.csv", index_col=0)
    test = pd.read_csv(tmp_path / "sim_test.csv", index_col=0)
    assert train["trans_date_trans_time"].max() < "2020-02-01"
    assert test["trans_date_trans_time"].min() >= "2020-02-01"
    assert not out.exists()


def test_simulate_scenarios_option_limits_the_fraud_kinds(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    args = ["simulate", "--customers", "60", "--start", "2020-01-01", "--end", "2020-03-01"]
    result = runner.invoke(
        app, [*args, "--fraud-rate", "0.02", "--scenarios", "night_burst", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col=0)
    assert frame["is_fraud"].sum() > 0
    assert set(frame.loc[frame["is_fraud"] == 1, SCENARIO_COLUMN]) == {"night_burst"}
    result = runner.invoke(app, [*args, "--scenarios", "night_burst,phishing", "--out", str(out)])
    assert result.exit_code == 2
    assert "unknown fraud scenario 'phishing'" in result.output
    assert "--scenarios" in result.output


def test_simulate_rejects_inverted_dates(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "--start",
            "2020-02-01",
            "--end",
            "2020-01-01",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "--end must be after --start" in result.output


def test_simulate_explains_an_invalid_fraud_rate(tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    result = runner.invoke(app, ["simulate", "--fraud-rate", "0.7", "--out", out])
    assert result.exit_code == 2
    assert "fraud_rate must lie in [0, 0.5)" in result.output


def test_validate_reports_reasons_and_writes_dead_letters(
    kaggle_head: Path, tmp_path: Path
) -> None:
    rows = list(csv.reader(kaggle_head.open(newline="")))[:101]
    rows[5][KAGGLE_COLUMNS.index("amt") + 1] = "-4"
    rows[9][KAGGLE_COLUMNS.index("category") + 1] = "casino"
    broken = tmp_path / "broken.csv"
    with broken.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    rejects = tmp_path / "rejects.jsonl"
    result = runner.invoke(app, ["validate", str(broken), "--rejects", str(rejects)])
    assert result.exit_code == 1
    assert "98 valid, 2 rejected" in result.output
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [line["row"] for line in lines] == [4, 8]  # the Kaggle index column
    assert lines[0]["reason"] == "amt: must be >= 0"
    assert lines[1]["reason"].startswith("category: unknown category")
    pans = {row[KAGGLE_COLUMNS.index("cc_num") + 1] for row in rows[1:]}
    assert not any(pan in rejects.read_text() for pan in pans)


def test_validate_clean_file_exits_zero(kaggle_head: Path) -> None:
    result = runner.invoke(app, ["validate", str(kaggle_head)])
    assert result.exit_code == 0
    assert "5,116 valid, 0 rejected" in result.output


def test_feed_rejects_an_unknown_source() -> None:
    result = runner.invoke(app, ["feed", "--source", "nowhere.csv"])
    assert result.exit_code == 2
    assert "--source: cannot read 'nowhere.csv'" in result.output
    result = runner.invoke(app, ["feed", "--source", "https://example.invalid/feed"])
    assert result.exit_code == 2
    assert "neither 'simulator' nor a CSV file" in result.output


@pytest.mark.parametrize(
    "command",
    ["simulate", "validate", "feed", "poll", "demo", "train", "score", "evaluate", "run", "serve"],
)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
