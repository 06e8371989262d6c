"""The scoring service's two forms of a batch give the same decisions.

A few plain records travel as column arrays (no pandas frame until the decisions); larger
batches as frames. Both must give the same rows, features and scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sources.csv_file import read_transactions
from tests.model.conftest import KEY

ROWS = 600


@pytest.fixture(scope="module")
def records(split_files: tuple[Path, Path]) -> list[dict[str, Any]]:
    """Test-period transactions as JSON-like records, in time order."""
    frame = next(read_transactions(split_files[1], limit=ROWS))
    frame = frame.sort_values("trans_date_trans_time", kind="stable")
    return [
        {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _without_latency(decisions: pd.DataFrame) -> pd.DataFrame:
    return decisions.drop(columns=["latency_ms"]).reset_index(drop=True)


def test_small_batches_equal_one_large_batch(
    model_dir: Path, records: list[dict[str, Any]]
) -> None:
    """Random chunks of 1-16 records (column path) = all records at once (frame path)."""
    whole = ScoringService.from_model_dir(model_dir, KEY).score(
        pd.DataFrame(records), source="test", keep_features=True
    )
    assert len(whole.decisions) == ROWS and not whole.rejected

    service = ScoringService.from_model_dir(model_dir, KEY)
    rng = np.random.default_rng(4)
    parts, features, position = [], [], 0
    while position < ROWS:
        size = int(rng.integers(1, 17))
        chunk = records[position : position + size]
        scored = service.score(chunk, source="test", keep_features=True)
        assert scored.features is not None
        assert scored.features.index.tolist() == list(range(len(chunk)))
        parts.append(scored.decisions)
        features.append(scored.features)
        position += size
    pd.testing.assert_frame_equal(
        _without_latency(pd.concat(parts)), _without_latency(whole.decisions)
    )
    assert whole.features is not None
    np.testing.assert_array_equal(pd.concat(features).to_numpy(), whole.features.to_numpy())
    assert (whole.decisions["decision"] == 1).any()  # the sample holds flagged ones


def test_column_path_maps_rejections_and_order_back_to_the_input(
    model_dir: Path, records: list[dict[str, Any]]
) -> None:
    """Out-of-order and invalid records: each answer lands at its record's position."""
    chunk = [dict(record) for record in records[10:16]]
    chunk[1]["amt"] = -5  # rejected
    chunk[3]["category"] = "nonsense"  # rejected
    chunk = [chunk[4], chunk[0], chunk[1], chunk[5], chunk[3], chunk[2]]  # not in time order
    scored = ScoringService.from_model_dir(model_dir, KEY).score(
        chunk, source="test", keep_features=True, received_at=np.arange(6.0)
    )
    assert sorted(rejection.position for rejection in scored.rejected) == [2, 4]
    assert scored.features is not None
    positions = scored.features.index.tolist()
    assert sorted(positions) == [0, 1, 3, 5]
    # scored in event-time order, each row carrying its own record's identity
    assert scored.decisions["trans_num"].tolist() == [chunk[p]["trans_num"] for p in positions]
    times = scored.decisions["event_time"].to_numpy()
    assert (times[1:] >= times[:-1]).all()
    latency = scored.decisions["latency_ms"].to_numpy()  # arrival p seconds after the epoch
    np.testing.assert_allclose(latency - latency[0], -1000.0 * (np.array(positions) - positions[0]))
    assert "cc_num" not in scored.decisions
    masked = scored.decisions["masked_pan"].tolist()
    assert all("*" in value for value in masked)


def test_a_restored_snapshot_scores_as_the_service_it_was_taken_from(
    model_dir: Path, records: list[dict[str, Any]]
) -> None:
    """snapshot()/restore() carry the whole feature state: cards, stream clock, labels' place."""
    from fraudwatch.sinks.labels import LabelCursor

    class Labels:  # a label feed that only keeps its place
        def __init__(self) -> None:
            self.cursor: LabelCursor | None = None

        def learn(self, *_: Any) -> int:
            return 0

        def state(self) -> LabelCursor | None:
            return self.cursor

        def restore(self, cursor: LabelCursor | None) -> None:
            self.cursor = cursor

    original = ScoringService.from_model_dir(model_dir, KEY)
    original.labels = Labels()  # type: ignore[assignment]
    original.score(records[:400], source="test")
    original.labels.cursor = "the labels' place"  # type: ignore[union-attr,assignment]
    saved = original.snapshot()
    restored = ScoringService.from_model_dir(model_dir, KEY)
    restored.labels = Labels()  # type: ignore[assignment]
    restored.restore(saved)
    assert restored.labels.state() == "the labels' place"  # type: ignore[union-attr]
    assert restored.stream_time == original.stream_time is not None
    ours = restored.score(records[400:], source="test").decisions
    theirs = original.score(records[400:], source="test").decisions
    pd.testing.assert_frame_equal(_without_latency(ours), _without_latency(theirs))
    cold = ScoringService.from_model_dir(model_dir, KEY).score(records[400:], source="test")
    assert not np.allclose(  # the state mattered: without it the scores differ
        cold.decisions["fraud_probability"], theirs["fraud_probability"]
    )


def test_the_steps_of_score_give_what_score_gives(
    model_dir: Path, records: list[dict[str, Any]]
) -> None:
    """prepare → featurize → predict → decisions, run one by one (file scoring), = score()."""
    whole = ScoringService.from_model_dir(model_dir, KEY)
    stepwise = ScoringService.from_model_dir(model_dir, KEY)
    for start in range(0, len(records), 150):
        chunk = pd.DataFrame(records[start : start + 150])
        expected = whole.score(chunk, source="test", received_at=0.0).decisions
        featured = stepwise.featurize(stepwise.prepare(chunk))
        scores = stepwise.predict(featured)
        got = stepwise.decisions(featured, scores, source="test", received_at=0.0)
        pd.testing.assert_frame_equal(_without_latency(got), _without_latency(expected))
    assert whole.scored == stepwise.scored == len(records)


def test_history_warms_the_card_state_under_the_service(
    model_dir: Path, split_files: tuple[Path, Path], records: list[dict[str, Any]]
) -> None:
    """learn_history folds labelled history into the state the next scores continue from."""
    from fraudwatch.pipeline.prepare import read_prepared

    warm = ScoringService.from_model_dir(model_dir, KEY)
    for batch in read_prepared(split_files[0], KEY, 20_000):
        warm.learn_history(batch.transactions)
    assert warm.engine.cards > 0 and warm.stream_time is not None
    warmed = warm.score(records[:50], source="test").decisions
    cold = ScoringService.from_model_dir(model_dir, KEY).score(records[:50], source="test")
    assert not np.allclose(warmed["fraud_probability"], cold.decisions["fraud_probability"])
