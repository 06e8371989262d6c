"""Scoring a file through the online path, label-free, and evaluating it honestly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.decision import RISK_LEVELS, risk_levels
from fraudwatch.features import compute_features
from fraudwatch.model.evaluate import EvaluationError, evaluate, format_report
from fraudwatch.model.registry import ModelBundle
from fraudwatch.model.scorer import Scorer
from fraudwatch.pipeline.prepare import read_prepared
from fraudwatch.pipeline.score_file import SCORE_COLUMNS, score_file
from tests.model.conftest import KEY


@pytest.fixture(scope="module")
def scored(
    model_dir: Path, split_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    train, test = split_files
    out = tmp_path_factory.mktemp("scores") / "scores.csv"
    summary = score_file(model_dir, test, out, KEY, history=train)
    assert summary.scored > 10_000 and summary.rejected == 0
    assert summary.history_rows > summary.scored
    return out


def test_score_file_columns_and_decisions(scored: Path, bundle: ModelBundle) -> None:
    scores = pd.read_csv(scored)
    assert tuple(scores.columns) == SCORE_COLUMNS
    assert scores["trans_num"].is_unique
    flagged = scores["decision"] == 1
    assert (flagged == (scores["fraud_probability"] >= bundle.model.threshold - 1e-7)).all()
    assert set(scores["risk_level"]) <= set(RISK_LEVELS)
    assert scores.loc[flagged, "top_reasons"].str.len().gt(10).all()
    assert scores.loc[scores["risk_level"] == "LOW", "top_reasons"].isna().all()


def test_scores_ignore_labels_in_the_scored_file(
    scored: Path, model_dir: Path, split_files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = split_files
    unlabelled = tmp_path / "test_without_labels.csv"
    pd.read_csv(test, index_col=0, dtype=str).drop(columns=["is_fraud", "fraud_scenario"]).to_csv(
        unlabelled, index_label=""
    )
    flipped = tmp_path / "test_with_flipped_labels.csv"
    frame = pd.read_csv(test, index_col=0, dtype=str)
    frame["is_fraud"] = np.where(frame["is_fraud"] == "1", "0", "1")
    frame.to_csv(flipped, index_label="")
    # a malformed label would fail validation; it must not cost its record (and the card's
    # later scores) anything
    malformed = tmp_path / "test_with_malformed_labels.csv"
    frame = pd.read_csv(test, index_col=0, dtype=str)
    frame.iloc[[3, 40, 41], frame.columns.get_loc("is_fraud")] = ["2", "yes", "-1"]
    frame.to_csv(malformed, index_label="")
    for variant in (unlabelled, flipped, malformed):
        out = tmp_path / f"{variant.stem}.scores.csv"
        score_file(model_dir, variant, out, KEY, history=train)
        assert out.read_bytes() == scored.read_bytes()


def test_chunk_size_does_not_change_the_scores(
    scored: Path, model_dir: Path, split_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Many small chunks, each scored on the worker while the next one's features are
    computed, write the same file as one big chunk: same rows, same order, same bits."""
    train, test = split_files
    out = tmp_path / "small_chunks.csv"
    summary = score_file(model_dir, test, out, KEY, history=train, chunk_rows=997)
    assert summary.scored > 10 * 997
    assert out.read_bytes() == scored.read_bytes()


def test_a_file_is_scored_whatever_its_gap_after_the_history(
    model_dir: Path, split_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file is not a stream: a gap of weeks after ``--history`` refuses no row (a stream
    clock would refuse the first rows after it, and shift their cards' later scores)."""
    train, test = split_files
    frame = pd.read_csv(train, index_col=0, dtype=str)
    early = tmp_path / "history_until_mid_august.csv"
    frame[frame["trans_date_trans_time"] < "2020-08-15"].to_csv(early, index_label="")
    summary = score_file(model_dir, test, tmp_path / "scores.csv", KEY, history=early)
    assert summary.rejected == 0
    assert summary.scored == len(pd.read_csv(test, usecols=["trans_num"]))


def test_online_scores_equal_batch_scores(
    scored: Path, bundle: ModelBundle, split_files: tuple[Path, Path]
) -> None:
    """The file path (online engine) gives the probabilities of the batch engine."""
    train, test = split_files
    history = pd.concat([b.transactions for b in read_prepared(train, KEY)], ignore_index=True)
    future = pd.concat([b.transactions for b in read_prepared(test, KEY)], ignore_index=True)
    everything = pd.concat([history, future], ignore_index=True)
    known = np.arange(len(everything)) < len(history)
    delay = int(bundle.metadata["label_delay_ms"])
    features = compute_features(
        everything, bundle.reference, label_known=known, label_delay_ms=delay
    )
    batch = Scorer(bundle).score(features.iloc[len(history) :])
    batch["trans_num"] = future["trans_num"].to_numpy()
    online = pd.read_csv(scored).set_index("trans_num")
    np.testing.assert_allclose(
        online.loc[batch["trans_num"], "fraud_probability"].to_numpy(),
        batch["fraud_probability"].to_numpy(), rtol=1e-6,
    )  # fmt: skip


def test_risk_levels() -> None:
    levels = risk_levels(np.array([0.01, 0.06, 0.2, 0.95]), threshold=0.1)
    assert list(levels) == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]


def test_evaluation_report(scored: Path, split_files: tuple[Path, Path], tmp_path: Path) -> None:
    report = evaluate(scored, split_files[1], tmp_path / "report")
    model, baseline = report["model"], report["baseline_static_only"]
    assert model["average_precision"] > 0.75  # floor for this small set; a broken feature fails it
    assert model["average_precision"] > baseline["average_precision"] + 0.1
    assert model["roc_auc"] > 0.98
    assert 0 < model["card_precision_at_100"] <= 1
    assert model["episode_recall"] >= model["recall"]  # catching one row catches the episode
    # an episode whose first transaction is caught is caught; the first is the hardest row
    assert 0 < model["first_transaction_recall"] <= model["episode_recall"]
    assert 0 <= model["small_amount_recall"] <= 1
    # the first transactions are the hardest rows: without them the ranking only gets better
    assert model["average_precision_after_first"] > model["average_precision"]
    for values in report["scenarios"].values():
        assert values["first_transaction_recall"] <= values["episode_recall"]
    assert set(report["scenarios"]) == {"night_burst", "card_testing", "account_takeover",
                                        "compromised_merchant"}  # fmt: skip
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["frauds"] == report["frauds"]
    for picture in ("pr_curve.png", "score_distribution.png"):
        assert (tmp_path / "report" / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = format_report(report)
    assert "average_precision" in text and "night_burst" in text and "first tx caught" in text


def test_evaluation_refuses_unrelated_files(scored: Path, kaggle_head: Path) -> None:
    with pytest.raises(EvaluationError, match="no trans_num"):
        evaluate(scored, kaggle_head)


def test_evaluation_leaves_out_blank_labels_and_refuses_bad_ones(
    scored: Path, split_files: tuple[Path, Path], tmp_path: Path
) -> None:
    full = evaluate(scored, split_files[1])
    frame = pd.read_csv(split_files[1], index_col=0, dtype=str)
    legit = np.flatnonzero((frame["is_fraud"] == "0").to_numpy())[:2]
    frame.iloc[legit, frame.columns.get_loc("is_fraud")] = ""
    blanked = tmp_path / "blank_labels.csv"
    frame.to_csv(blanked, index_label="")
    report = evaluate(scored, blanked)
    assert report["unlabelled_rows_left_out"] == 2 and full["unlabelled_rows_left_out"] == 0
    assert report["rows"] == full["rows"] - 2
    assert report["frauds"] == full["frauds"]
    assert "2 without a label left out" in format_report(report)
    frame.iloc[legit[0], frame.columns.get_loc("is_fraud")] = "2"
    frame.to_csv(blanked, index_label="")
    with pytest.raises(EvaluationError, match=r"is_fraud: 1 labels .* not 0 or 1 \(e.g. '2'\)"):
        evaluate(scored, blanked)
