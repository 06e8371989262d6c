"""Card state shared through a real Redis: several engines give one engine's features."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features import FeatureReference, OnlineFeatures, compute_features
from fraudwatch.features.shared import RedisCardState, SharedStateConflictError
from fraudwatch.schema import LABEL_COLUMN
from tests.features.test_parity import _assert_same


@pytest.fixture
def redis_url(redis_address: tuple[str, int]) -> str:
    """URL of the real Redis server."""
    host, port = redis_address
    return f"redis://{host}:{port}/0"


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"fraudwatch-test:{uuid.uuid4().hex}:"
    yield prefix
    RedisCardState(redis_url, namespace=prefix).clear()


def _label_free(history: pd.DataFrame, rows: int) -> pd.DataFrame:
    return history.iloc[:rows].drop(columns=[LABEL_COLUMN])


def _batches(frame: pd.DataFrame, seed: int, largest: int = 300) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pieces, position = [], 0
    while position < len(frame):
        end = min(position + int(rng.integers(1, largest)), len(frame))
        pieces.append(frame.iloc[position:end])
        position = end
    return pieces


def test_a_card_state_survives_export_and_import(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    """Engine B continues from engine A's exported cards exactly as A itself would."""
    part = _label_free(history, 12_000)
    first, second = part.iloc[:8_000], part.iloc[8_000:]
    alone = OnlineFeatures(reference)
    alone.transform_many(first)
    expected = alone.transform_many(second)

    source = OnlineFeatures(reference)
    source.transform_many(first)
    tokens = list(dict.fromkeys(first["card_token"].tolist()))
    states = source.export_cards(tokens)
    assert all(isinstance(state, bytes) for state in states)
    target = OnlineFeatures(reference)
    target.import_cards(dict(zip(tokens, states, strict=True)))
    assert target.cards == len(tokens)
    _assert_same(expected, target.transform_many(second))


def test_export_of_an_unknown_card_is_none_and_import_of_none_forgets(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    engine = OnlineFeatures(reference)
    engine.transform_many(_label_free(history, 500))
    token = history["card_token"].iloc[0]
    assert engine.export_cards(["no-such-card"]) == [None]
    held = engine.cards
    engine.import_cards({token: None})
    assert engine.cards == held - 1
    with pytest.raises(ValueError, match="card-state version"):
        engine.import_cards({token: b"\x09" + b"\x00" * 100})


def test_engines_taking_turns_through_redis_equal_one_engine(
    history: pd.DataFrame, reference: FeatureReference, redis_url: str, namespace: str
) -> None:
    """Micro-batches dealt at random to three processes' engines: one engine's features."""
    part = _label_free(history, 20_000)
    expected = compute_features(part, reference)
    workers = [
        (OnlineFeatures(reference), RedisCardState(redis_url, namespace=namespace))
        for _ in range(3)
    ]
    rng = np.random.default_rng(5)
    outputs = []
    for piece in _batches(part, seed=3):
        engine, shared = workers[int(rng.integers(len(workers)))]
        outputs.append(shared.transform_many(engine, piece))
    _assert_same(expected, pd.concat(outputs))
    assert all(engine.cards == 0 for engine, _ in workers)  # the state lives in Redis only
    assert expected["card_count_24h"].nunique() > 10  # histories really carried over


def test_concurrent_writers_lose_no_transaction(
    history: pd.DataFrame, reference: FeatureReference, redis_url: str, namespace: str
) -> None:
    """Two threads score the same cards at once: every card counts all its transactions."""
    part = _label_free(history, 6_000)
    pieces = _batches(part, seed=9, largest=60)
    errors: list[BaseException] = []

    def work(mine: list[pd.DataFrame]) -> None:
        engine, shared = OnlineFeatures(reference), RedisCardState(redis_url, namespace=namespace)
        try:
            for piece in mine:
                shared.transform_many(engine, piece)
        except BaseException as error:  # reported to the test thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(pieces[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # a probe one second after the end: each card's mean over all its stored transactions
    reader = RedisCardState(redis_url, namespace=namespace)
    probe = part.groupby("card_token").tail(1).copy()
    probe["event_time"] = part["event_time"].max() + pd.Timedelta(seconds=1)
    features = reader.transform_many(OnlineFeatures(reference), probe)
    expected = part.groupby("card_token")["amt"].mean().reindex(probe["card_token"])
    np.testing.assert_allclose(features["card_mean_amt"], expected.to_numpy(), rtol=1e-9)


class _Interfering(RedisCardState):
    """Another process moves the batch's cards right after this one has read them, once."""

    def __init__(self, url: str, namespace: str, rival_batch: pd.DataFrame, ref: Any) -> None:
        super().__init__(url, namespace=namespace)
        self.rival = RedisCardState(url, namespace=namespace)
        self.rival_batch, self.reference, self.interfered = rival_batch, ref, False

    def _read(self, keys: Any) -> Any:
        result = super()._read(keys)
        if not self.interfered:
            self.interfered = True
            self.rival.transform_many(OnlineFeatures(self.reference), self.rival_batch)
        return result


def test_a_conflicting_write_is_retried_on_the_fresh_state(
    history: pd.DataFrame, reference: FeatureReference, redis_url: str, namespace: str
) -> None:
    part = _label_free(history, 3_000)
    rows = part[part["card_token"] == part["card_token"].iloc[0]]
    first, last = rows.iloc[:-1], rows.iloc[-1:]
    shared = _Interfering(redis_url, namespace, first, reference)
    features = shared.transform_many(OnlineFeatures(reference), last)
    assert shared.conflicts == 1  # the first attempt saw the card before the rival's write
    expected = compute_features(rows, reference).iloc[-1:]
    _assert_same(expected, features)  # computed again on the state with the rival's rows


def test_a_batch_that_keeps_conflicting_raises(
    history: pd.DataFrame, reference: FeatureReference, redis_url: str, namespace: str
) -> None:
    part = _label_free(history, 50)
    rival = RedisCardState(redis_url, namespace=namespace)

    class Always(RedisCardState):
        def _read(self, keys: Any) -> Any:
            result = super()._read(keys)
            rival.transform_many(OnlineFeatures(reference), part.iloc[:1])
            return result

    shared = Always(redis_url, namespace=namespace, attempts=3)
    with pytest.raises(SharedStateConflictError, match="3 times"):
        shared.transform_many(OnlineFeatures(reference), part.iloc[:1])
    assert shared.conflicts == 3
