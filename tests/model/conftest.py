"""A small simulated train/test pair and one model trained on it, shared by the model tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from fraudwatch.model.registry import ModelBundle, save_bundle
from fraudwatch.model.train import TrainConfig, train_model
from fraudwatch.pipeline.prepare import read_prepared
from fraudwatch.sources.simulator import SimulatorConfig, simulate_to_csv

KEY = b"model-tests-key-0123456789abcdef"
#: Few rounds keep the suite fast; quality floors below are set for this configuration.
FAST = TrainConfig(max_rounds=300, threads=2)


@pytest.fixture(scope="session")
def split_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Kaggle-layout train (Jan–Aug 2020) and test (Sep–Oct 2020) files of 300 cards."""
    folder = tmp_path_factory.mktemp("sim")
    written = simulate_to_csv(
        SimulatorConfig(customers=300, seed=21), dt.date(2020, 1, 1), dt.date(2020, 11, 1),
        folder / "sim.csv", split_at=dt.date(2020, 9, 1),
    )  # fmt: skip
    test, train = sorted(written)
    assert train.name == "sim_train.csv" and test.name == "sim_test.csv"
    return train, test


@pytest.fixture(scope="session")
def train_frame(split_files: tuple[Path, Path]) -> pd.DataFrame:
    """The prepared training transactions."""
    return pd.concat(
        [b.transactions for b in read_prepared(split_files[0], KEY)], ignore_index=True
    )


@pytest.fixture(scope="session")
def bundle(train_frame: pd.DataFrame) -> ModelBundle:
    """A model trained once for the whole session."""
    return train_model(train_frame, FAST)


@pytest.fixture(scope="session")
def model_dir(bundle: ModelBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model saved to a folder."""
    return save_bundle(bundle, tmp_path_factory.mktemp("model") / "m1")
