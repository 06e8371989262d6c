"""The two engines agree: online micro-batches reproduce the batch engine on the whole history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features import FEATURE_NAMES, FeatureReference, OnlineFeatures, compute_features
from fraudwatch.features.definitions import MS_PER_DAY
from fraudwatch.schema import LABEL_COLUMN
from tests.features.conftest import label_mask


def _replay(
    history: pd.DataFrame, split_at: int, engine: OnlineFeatures, seed: int, restart: bool = False
) -> pd.DataFrame:
    """Feed the history through the online engine in random micro-batches (1 to 4,000 rows).

    The training part is replayed with its labels; the test part without them, and no
    batch straddles the boundary. With ``restart`` the engine is snapshotted, restored and
    expired after every batch.
    """
    rng = np.random.default_rng(seed)
    outputs, position = [], 0
    while position < len(history):
        end = min(position + int(rng.integers(1, 4000)), len(history))
        if position < split_at < end:
            end = split_at
        chunk = history.iloc[position:end]
        labelled = end <= split_at
        if not labelled:
            chunk = chunk.drop(columns=[LABEL_COLUMN])
        outputs.append(engine.transform_many(chunk, labelled=labelled))
        if restart:
            engine.expire()
            engine = OnlineFeatures.restore(engine.snapshot(), engine.reference)
        position = end
    return pd.concat(outputs)


def _assert_same(batch: pd.DataFrame, online: pd.DataFrame) -> None:
    assert list(online.columns) == list(FEATURE_NAMES)
    assert online.index.equals(batch.index)
    for name in FEATURE_NAMES:
        np.testing.assert_allclose(
            online[name].to_numpy(), batch[name].to_numpy(), rtol=1e-9, atol=0, equal_nan=True,
            err_msg=f"feature {name} differs between the engines",
        )  # fmt: skip


def test_history_is_large_enough(history: pd.DataFrame) -> None:
    assert len(history) >= 50_000
    assert history[LABEL_COLUMN].sum() > 100


def test_online_equals_batch_across_the_train_test_boundary(
    history: pd.DataFrame, split_at: int, reference: FeatureReference
) -> None:
    batch = compute_features(history, reference, label_known=label_mask(len(history), split_at))
    online = _replay(history, split_at, OnlineFeatures(reference), seed=1)
    _assert_same(batch, online)
    # the features are not trivially equal: history features vary and merchant risk moved
    assert batch["card_count_24h"].nunique() > 10
    assert batch["merchant_risk"].nunique() > 10


def test_parity_holds_with_card_restarts_snapshots_and_expiry(
    history: pd.DataFrame, split_at: int, reference: FeatureReference
) -> None:
    """A short card TTL makes cards restart often; snapshot/restore/expire after every batch."""
    ttl = 2 * MS_PER_DAY
    batch = compute_features(
        history, reference, label_known=label_mask(len(history), split_at), card_ttl_ms=ttl
    )
    engine = OnlineFeatures(reference, card_ttl_ms=ttl)
    online = _replay(history, split_at, engine, seed=2, restart=True)
    _assert_same(batch, online)
    restarted = batch["secs_since_prev"].isna().sum()
    assert restarted > history["card_token"].nunique()  # some cards really restarted


def test_one_transaction_at_a_time_equals_batch(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    part = history.iloc[:1500]
    batch = compute_features(part, reference)
    engine = OnlineFeatures(reference)
    online = pd.concat([engine.transform_one(part.iloc[[row]]) for row in range(len(part))])
    _assert_same(batch, online)


@pytest.mark.parametrize("name", ["card_count_24h", "card_sum_1h", "distinct_merchants_24h"])
def test_a_broken_window_would_be_caught(
    history: pd.DataFrame, reference: FeatureReference, name: str
) -> None:
    """The comparison itself is strict enough to notice an off-by-one."""
    batch = compute_features(history.iloc[:5000], reference)
    broken = batch.copy()
    broken[name] = broken[name] + (broken[name] > 0)
    with pytest.raises(AssertionError, match=name):
        _assert_same(batch, broken)
