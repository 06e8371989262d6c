"""The model page's facts: which model decides, how it validated, and how precise it is live.

The model's identity and validation metrics come from the ``model_versions`` table (the
pipeline registers the model it runs, with its ``metadata.json``), so the dashboard needs
no access to the model folder. A precision-recall curve is shown when one can be found:
points in the metadata, or a ``pr_curve.png`` in the model folder when that folder is
reachable from the dashboard's host (it often is not: then the page says so). Live
precision counts the alerts' effective labels (a chargeback beats an analyst's verdict), per
day the label was reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fraudwatch.dashboard import formats
from fraudwatch.dashboard.buckets import bucket_expression
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.selection import decisions, filtered_from
from fraudwatch.dashboard.source import Reader
from fraudwatch.sinks import tables

PR_CURVE_FILES = ("pr_curve.png", "report/pr_curve.png")


@dataclass(frozen=True)
class ModelInfo:
    """The model that decides, as registered (metadata empty when it never was)."""

    version: str
    is_champion: bool
    registered_at: datetime | None
    metadata: dict[str, Any]

    @property
    def threshold(self) -> float | None:
        """The decision threshold (flagged when the probability is at or above it)."""
        value = self.metadata.get("threshold")
        return float(value) if isinstance(value, int | float) else None

    def validation_table(self) -> pd.DataFrame:
        """Validation metrics, one row per metric and one column per learner."""
        metrics = self.metadata.get("validation_metrics") or {}
        learners = {name: values for name, values in metrics.items() if isinstance(values, dict)}
        frame = pd.DataFrame(learners)
        numeric: pd.DataFrame = frame.apply(pd.to_numeric, errors="coerce")
        return numeric.dropna(how="all")

    def validation_text(self) -> pd.DataFrame:
        """The validation table for people: metric names in words, counts as integers."""
        table = self.validation_table()
        shown = pd.DataFrame(
            {
                learner: [formats.metric_value(str(name), value) for name, value in column.items()]
                for learner, column in table.items()
            },
            index=pd.Index([formats.metric_name(str(name)) for name in table.index], name="metric"),
        )
        return shown


def current_model(reader: Reader) -> ModelInfo | None:
    """The champion; else the newest registered model; else the newest decision's version."""
    versions = tables.model_versions
    registered = sa.select(
        versions.c.version, versions.c.is_champion, versions.c.created_at, versions.c.metadata
    ).order_by(versions.c.is_champion.desc(), versions.c.created_at.desc(), versions.c.version)
    latest_used = (
        sa.select(decisions.c.model_version).order_by(decisions.c.event_time.desc()).limit(1)
    )

    def run(conn: Connection) -> ModelInfo | None:
        row = conn.execute(registered.limit(1)).one_or_none()
        if row is not None:
            try:
                metadata = json.loads(row.metadata)
            except json.JSONDecodeError:
                metadata = {}
            return ModelInfo(
                str(row.version),
                bool(row.is_champion),
                row.created_at,
                metadata if isinstance(metadata, dict) else {},
            )
        version = conn.execute(latest_used).scalar_one_or_none()
        return None if version is None else ModelInfo(str(version), False, None, {})

    return reader.run(run, "current model")


@dataclass(frozen=True)
class PrCurve:
    """Precision-recall points of the model's validation."""

    precision: list[float]
    recall: list[float]


def find_pr_curve(info: ModelInfo, model_roots: list[Path]) -> PrCurve | Path | None:
    """The model's PR curve: points from its metadata, else an image in its folder, else None.

    ``model_roots`` are folders that may hold one sub-folder per model version (e.g.
    ``DATA_DIR/models``); missing or unreadable folders are skipped.
    """
    points = info.metadata.get("pr_curve")
    if isinstance(points, dict):
        precision, recall = points.get("precision"), points.get("recall")
        if isinstance(precision, list) and isinstance(recall, list) and len(precision) > 1:
            return PrCurve([float(p) for p in precision], [float(r) for r in recall])
    for root in model_roots:
        for name in PR_CURVE_FILES:
            candidate = root / info.version / name
            try:
                if candidate.is_file():
                    return candidate
            except OSError:
                continue
    return None


def live_precision(reader: Reader, filters: Filters) -> pd.DataFrame:
    """Per day the effective label was reported: labelled alerts, confirmed frauds, precision
    and running precision."""
    joined, label, where = filtered_from(filters, with_labels=True)
    day = bucket_expression(reader.backend, label.c.reported_at, "day").label("day")
    confirmed = sa.func.sum(sa.case((label.c.is_fraud == 1, 1), else_=0))
    statement = (
        sa.select(day, sa.func.count().label("labelled"), confirmed.label("confirmed"))
        .select_from(joined)
        .where(*where, decisions.c.decision == 1, label.c.is_fraud.is_not(None))
        .group_by(day)
        .order_by(day)
    )
    frame = reader.run(
        lambda conn: pd.DataFrame(
            conn.execute(statement).mappings().all(), columns=["day", "labelled", "confirmed"]
        ),
        "live precision",
    )
    frame["day"] = pd.to_datetime(frame["day"], utc=True).dt.tz_localize(None)
    frame = frame.astype({"labelled": "int64", "confirmed": "int64"})
    frame["precision"] = frame["confirmed"] / frame["labelled"]
    frame["running_precision"] = frame["confirmed"].cumsum() / frame["labelled"].cumsum()
    return frame


def decisions_by_model(reader: Reader, filters: Filters) -> pd.DataFrame:
    """How many of the filtered decisions each model version made, and how many it flagged."""
    joined, _label, where = filtered_from(filters)
    d = decisions.c
    statement = (
        sa.select(
            d.model_version,
            sa.func.count().label("decisions"),
            sa.func.coalesce(sa.func.sum(d.decision), 0).label("flagged"),
            sa.func.max(d.event_time).label("last_used"),
        )
        .select_from(joined)
        .where(*where)
        .group_by(d.model_version)
        .order_by(sa.desc("last_used"))
    )
    columns = ["model_version", "decisions", "flagged", "last_used"]
    frame = reader.run(
        lambda conn: pd.DataFrame(conn.execute(statement).mappings().all(), columns=columns),
        "decisions by model",
    )
    frame["last_used"] = pd.to_datetime(frame["last_used"]).dt.floor("s")
    return frame.astype({"decisions": "int64", "flagged": "int64"})
