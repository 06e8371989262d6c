"""A simulated, prepared history shared by the feature tests (≈60,000 transactions)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features import FeatureReference
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.sources.simulator import SimulatorConfig, simulate

KEY = b"feature-tests-key-0123456789"


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """Prepared transactions of 150 simulated cards over six months, in time order."""
    frames = simulate(
        SimulatorConfig(customers=150, seed=11), dt.date(2020, 1, 1), dt.date(2020, 7, 1)
    )
    prepared = prepare_batch(pd.concat(frames, ignore_index=True), KEY)
    assert not prepared.rejected
    return prepared.transactions.sort_values("event_time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="session")
def split_at(history: pd.DataFrame) -> int:
    """Row where the 'training' part ends and the label-free 'test' part begins."""
    return int(len(history) * 0.7)


@pytest.fixture(scope="session")
def reference(history: pd.DataFrame, split_at: int) -> FeatureReference:
    """Reference statistics fitted on the training part only."""
    return FeatureReference.fit(history.iloc[:split_at])


def label_mask(length: int, split_at: int) -> np.ndarray:
    """Labels are known for the training part only."""
    known = np.zeros(length, dtype=bool)
    known[:split_at] = True
    return known
