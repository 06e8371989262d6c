"""Evaluation of a scored file against its labels: one report, the model beside its baseline.

The labels come from the original transactions file (joined on ``trans_num``), which also
gives card, time, amount and — for simulated data — the fraud scenario, so the report can
count fraud episodes, daily card precision, the share of stolen amount caught and recall
per scenario.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.errors import FraudwatchError
from fraudwatch.model import metrics
from fraudwatch.schema import LABEL_COLUMN, SCENARIO_COLUMN
from fraudwatch.sources.csv_file import read_transactions

_LABEL_COLUMNS = [
    "trans_num", "cc_num", "trans_date_trans_time", "amt", "category", LABEL_COLUMN,
]  # fmt: skip


class EvaluationError(FraudwatchError, ValueError):
    """Scores and labels cannot be evaluated together (no overlap, no labels, ...)."""


def load_joined(scores_path: Path, labels_path: Path) -> tuple[pd.DataFrame, int]:
    """Scores joined to the labelled transactions on trans_num (inner join, checked), and
    how many rows were left out for a blank label; a label other than 0 or 1 is an error."""
    scores = pd.read_csv(scores_path, dtype={"trans_num": str, "top_reasons": str})
    parts = []
    for chunk in read_transactions(labels_path):
        keep = [c for c in (*_LABEL_COLUMNS, SCENARIO_COLUMN) if c in chunk]
        parts.append(chunk[keep])
    labels = pd.concat(parts, ignore_index=True)
    if LABEL_COLUMN not in labels:
        raise EvaluationError(f"{labels_path} has no {LABEL_COLUMN} column to evaluate against")
    joined = scores.merge(labels, on="trans_num", how="inner", validate="one_to_one")
    if joined.empty:
        raise EvaluationError("no trans_num is in both the scores and the labels file")
    missing = len(scores) - len(joined)
    if missing:
        raise EvaluationError(f"{missing:,} scored transactions have no label in {labels_path}")
    label = pd.to_numeric(joined[LABEL_COLUMN], errors="coerce")
    bad = joined[LABEL_COLUMN].notna() & ~label.isin([0, 1])
    if bad.any():
        values = joined.loc[bad, LABEL_COLUMN]
        shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
        examples = ", ".join(repr(value) for value in list(dict.fromkeys(shown))[:3])
        raise EvaluationError(
            f"{LABEL_COLUMN}: {int(bad.sum()):,} labels in {labels_path} are not 0 or 1 "
            f"(e.g. {examples})"
        )
    blank = label.isna()
    if blank.all():
        raise EvaluationError(f"every scored transaction has a blank {LABEL_COLUMN} label")
    joined = joined.loc[~blank].assign(**{LABEL_COLUMN: label[~blank].astype(np.int64)})
    joined["event_time"] = pd.to_datetime(joined["trans_date_trans_time"])
    return joined, int(blank.sum())


def _epoch_seconds(joined: pd.DataFrame) -> np.ndarray:
    """Event times as epoch seconds (whatever resolution pandas parsed them at)."""
    return joined["event_time"].to_numpy(dtype="datetime64[s]").astype(np.int64).astype(np.float64)


def _row(labels: np.ndarray, probability: np.ndarray, flagged: np.ndarray, joined: pd.DataFrame,
         episodes: np.ndarray) -> dict[str, float]:  # fmt: skip
    seconds = _epoch_seconds(joined)
    days = (seconds // 86_400).astype(np.int64)
    return {
        "average_precision": metrics.average_precision(labels, probability),
        "roc_auc": metrics.roc_auc(labels, probability),
        **metrics.precision_recall_f1(labels, flagged),
        "recall_at_0.5%_alerts": metrics.recall_at_alert_rate(labels, probability, 0.005),
        "recall_at_1%_alerts": metrics.recall_at_alert_rate(labels, probability, 0.01),
        "card_precision_at_100": metrics.card_precision_at_k(
            days, joined["cc_num"].to_numpy(), labels, probability, 100
        ),
        "fraud_amount_caught": metrics.amount_caught(labels, flagged, joined["amt"].to_numpy()),
        "episode_recall": metrics.episode_recall(episodes, flagged),
        "first_transaction_recall": metrics.first_transaction_recall(episodes, seconds, flagged),
        "average_precision_after_first": metrics.average_precision_after_first(
            labels, probability, episodes, seconds
        ),
        "small_amount_recall": metrics.small_amount_recall(
            labels, flagged, joined["amt"].to_numpy(), joined["category"].to_numpy()
        ),
    }


def evaluate(
    scores_path: Path, labels_path: Path, report_dir: Path | None = None
) -> dict[str, Any]:
    """Metrics of the model and its static-only baseline; JSON and plots go to ``report_dir``."""
    joined, unlabelled = load_joined(scores_path, labels_path)
    labels = joined[LABEL_COLUMN].to_numpy(dtype=np.int64)
    model_p = joined["fraud_probability"].to_numpy(dtype=np.float64)
    flagged = joined["decision"].to_numpy(dtype=np.int64) == 1
    threshold = float(model_p[flagged].min()) if flagged.any() else math.inf
    seconds = _epoch_seconds(joined)
    episodes = metrics.episode_ids(joined["cc_num"].to_numpy(), seconds, labels)
    report: dict[str, Any] = {
        "rows": len(joined),
        "unlabelled_rows_left_out": unlabelled,
        "frauds": int(labels.sum()),
        "fraud_episodes": len(np.unique(episodes[episodes >= 0])),
        "model": _row(labels, model_p, flagged, joined, episodes),
    }
    if "baseline_probability" in joined:
        base_p = joined["baseline_probability"].to_numpy(dtype=np.float64)
        base_flagged = joined["baseline_decision"].to_numpy(dtype=np.int64) == 1
        report["baseline_static_only"] = _row(labels, base_p, base_flagged, joined, episodes)
    if SCENARIO_COLUMN in joined:
        report["scenarios"] = _per_scenario(joined, labels, model_p, flagged, episodes)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "report.json").write_text(
            json.dumps(_json_ready(report), indent=2), encoding="utf-8"
        )
        from fraudwatch.model.plots import plot_pr_curves, plot_score_distributions

        curves = {"model": model_p}
        if "baseline_probability" in joined:
            curves["baseline (static only)"] = joined["baseline_probability"].to_numpy(
                dtype=np.float64
            )
        plot_pr_curves(labels, curves, report_dir / "pr_curve.png")
        plot_score_distributions(labels, model_p, threshold, report_dir / "score_distribution.png")
    return report


def _per_scenario(
    joined: pd.DataFrame,
    labels: np.ndarray,
    probability: np.ndarray,
    flagged: np.ndarray,
    episodes: np.ndarray,
) -> dict[str, dict[str, float]]:
    scenario = joined[SCENARIO_COLUMN].fillna("").astype(str).to_numpy()
    seconds = _epoch_seconds(joined)
    legit = labels == 0
    out = {}
    for name in sorted(set(scenario[labels == 1]) - {""}):
        mine = scenario == name
        out[name] = {
            "frauds": int(mine.sum()),
            "recall": float(flagged[mine].mean()),
            "average_precision": metrics.average_precision(
                labels[mine | legit], probability[mine | legit]
            ),
            "episode_recall": metrics.episode_recall(np.where(mine, episodes, -1), flagged),
            "first_transaction_recall": metrics.first_transaction_recall(
                np.where(mine, episodes, -1), seconds, flagged
            ),
        }
    return out


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned text for the terminal: metrics down, model and baseline across."""
    lines = [
        f"{report['rows']:,} transactions, {report['frauds']:,} frauds in "
        f"{report['fraud_episodes']:,} episodes"
        + (
            f" ({report['unlabelled_rows_left_out']:,} without a label left out)"
            if report.get("unlabelled_rows_left_out")
            else ""
        ),
        "",
        f"{'metric':32}{'model':>14}{'static-only baseline':>24}",
    ]
    baseline = report.get("baseline_static_only", {})
    for key, value in report["model"].items():
        lines.append(f"{key:32}{_fmt(value):>14}{_fmt(baseline.get(key)):>24}")
    if report.get("scenarios"):
        lines += [
            "",
            f"{'scenario':24}{'frauds':>8}{'recall':>10}{'AP':>10}{'episodes caught':>18}"
            f"{'first tx caught':>18}",
        ]
        for name, values in report["scenarios"].items():
            lines.append(
                f"{name:24}{values['frauds']:>8,}{_fmt(values['recall']):>10}"
                f"{_fmt(values['average_precision']):>10}{_fmt(values['episode_recall']):>18}"
                f"{_fmt(values['first_transaction_recall']):>18}"
            )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.4f}"
