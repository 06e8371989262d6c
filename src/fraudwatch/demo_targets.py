"""How the live demo compares with what its model learned, against the simulator's truth.

The issue's targets for a demo whose clock tells the truth: the live flag rate within
0.5x-2x of the model's validation flag rate, alert precision at least 0.8x validation's
(the model's stored threshold, no live re-thresholding), and the median gap between a
card's transactions within 0.5x-2x of the training history's. ``benchmarks/demo_live.py``
and ``tests/test_demo.py`` measure them with :func:`demo_targets`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from fraudwatch.demo import DemoState
from fraudwatch.monitoring.live import (
    FLAG_RATE_BAND,
    LiveFigures,
    ValidationFigures,
    live_figures,
    validation_figures,
)
from fraudwatch.sinks import tables
from fraudwatch.sinks.store import Store


@dataclass(frozen=True)
class DemoTargets:
    """How the live demo compares with what the model learned, against the simulator's truth.

    The issue's targets: live flag rate within 0.5x-2x of validation's, alert precision at
    least 0.8x validation's, and the median gap between a card's transactions within
    0.5x-2x of the training history's.
    """

    transactions: int
    frauds: int
    simulated_days: float
    live: LiveFigures
    validation: ValidationFigures
    median_gap_live_s: float
    median_gap_training_s: float

    @property
    def precision_ratio(self) -> float:
        """Live alert precision over validation precision."""
        return self.live.precision / self.validation.precision

    @property
    def gap_ratio(self) -> float:
        """Live median per-card gap over the training history's."""
        return self.median_gap_live_s / self.median_gap_training_s

    @property
    def met(self) -> bool:
        """Whether all three targets hold."""
        return (
            FLAG_RATE_BAND[0] <= self.live.flag_rate_ratio <= FLAG_RATE_BAND[1]
            and self.precision_ratio >= 0.8
            and FLAG_RATE_BAND[0] <= self.gap_ratio <= FLAG_RATE_BAND[1]
        )

    def as_dict(self) -> dict[str, float | int | bool]:
        """Flat figures, for the benchmark's JSON line."""
        return {
            "transactions": self.transactions,
            "frauds": self.frauds,
            "simulated_days": round(self.simulated_days, 2),
            "flag_rate": self.live.flag_rate,
            "validation_flag_rate": self.validation.flag_rate,
            "flag_rate_ratio": self.live.flag_rate_ratio,
            "alert_precision": self.live.precision,
            "validation_precision": self.validation.precision,
            "precision_ratio": self.precision_ratio,
            "recall": self.live.recall,
            "median_gap_live_s": self.median_gap_live_s,
            "median_gap_training_s": self.median_gap_training_s,
            "gap_ratio": self.gap_ratio,
            "targets_met": self.met,
        }


def _median_gap_seconds(cards: pd.Series, times: pd.Series) -> float:
    """The median time between consecutive transactions of the same card."""
    frame = pd.DataFrame({"card": cards.to_numpy(), "time": pd.to_datetime(times).to_numpy()})
    frame = frame.sort_values(["card", "time"], kind="stable")
    gaps = frame.groupby("card")["time"].diff().dt.total_seconds().dropna()
    return float(gaps.median())


def demo_targets(store: Store, state: DemoState, metadata: dict[str, object]) -> DemoTargets:
    """Measure the stored live decisions of the demo against the simulator's own labels."""
    decisions = tables.decisions
    query = sa.select(
        decisions.c.trans_num, decisions.c.card_token, decisions.c.event_time, decisions.c.decision
    ).where(decisions.c.event_time >= dt.datetime.combine(state.epoch, dt.time()))
    with store.engine.connect() as conn:
        live = pd.DataFrame(conn.execute(query).all(), columns=list(query.selected_columns.keys()))
    live["event_time"] = pd.to_datetime(live["event_time"])
    newest = live["event_time"].max()
    truth = []
    for frame in state.live_stream():
        truth.append(frame[["trans_num", "is_fraud"]])
        if pd.to_datetime(frame["trans_date_trans_time"]).max() > newest:
            break
    labelled = live.merge(pd.concat(truth), on="trans_num", how="left", validate="1:1")
    event_ms = labelled["event_time"].to_numpy(dtype="datetime64[ms]").astype("int64")
    validation = validation_figures(dict(metadata))
    figures = live_figures(
        event_ms,
        labelled["decision"].to_numpy(),
        labelled["is_fraud"].to_numpy(dtype="float64"),
        clock_ms=int(event_ms.max()),
        label_delay_ms=0,
        validation_flag_rate=validation.flag_rate,
    )
    history = pd.concat(frame[["cc_num", "trans_date_trans_time"]] for frame in state.history())
    origin = pd.Timestamp(dt.datetime.combine(state.epoch, dt.time()))
    return DemoTargets(
        transactions=len(labelled),
        frauds=int(labelled["is_fraud"].sum()),
        simulated_days=(newest - origin).total_seconds() / 86_400,
        live=figures,
        validation=validation,
        median_gap_live_s=_median_gap_seconds(labelled["card_token"], labelled["event_time"]),
        median_gap_training_s=_median_gap_seconds(
            history["cc_num"], history["trans_date_trans_time"]
        ),
    )
