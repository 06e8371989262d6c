"""`fraudwatch train`, `score` and `evaluate` from the command line, with clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fraudwatch.cli import app

runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})


def test_train_score_evaluate(
    split_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDWATCH_PAN_KEY", "command-tests-key-0123456789")
    train, test = split_files
    model = tmp_path / "model"
    result = runner.invoke(
        app, ["train", "--data", str(train), "--model-dir", str(model), "--max-rounds", "150"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"validation model\s+AP 0\.\d{4}", result.output)
    assert json.loads((model / "metadata.json").read_text())["config"]["max_rounds"] == 150

    scores = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", "--model-dir", str(model), "--data", str(test),
                                 "--history", str(train), "--out", str(scores)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(scores)) == len(pd.read_csv(test))

    result = runner.invoke(app, ["evaluate", "--scores", str(scores), "--labels", str(test),
                                 "--report", str(tmp_path / "report")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "static-only baseline" in result.output and "compromised_merchant" in result.output
    assert (tmp_path / "report" / "report.json").is_file()


def test_score_without_a_model_explains(split_files: tuple[Path, Path], tmp_path: Path) -> None:
    args = ["score", "--model-dir", str(tmp_path / "none"), "--data", str(split_files[1])]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2  # a missing input is a usage error: one line, exit 2
    assert "--model-dir: cannot read" in result.output and "No such file" in result.output
    (tmp_path / "empty").mkdir()  # a folder that holds no model
    args = ["score", "--model-dir", str(tmp_path / "empty"), "--data", str(split_files[1])]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert "not a trained model folder" in result.output


def test_train_rejects_an_unknown_policy(split_files: tuple[Path, Path]) -> None:
    result = runner.invoke(
        app, ["train", "--data", str(split_files[0]), "--threshold-policy", "vibes"]
    )
    assert result.exit_code == 2
    assert "threshold_policy must be" in result.output
