"""The demo's chargeback releaser: frauds only, once each, when older than the delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from fraudwatch.sources.chargebacks import ChargebackReleaser

T0 = pd.Timestamp("2020-06-21 12:00:00")


def _rows(*rows: tuple[str, float, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trans_num": [row[0] for row in rows],
            "event_time": [T0 + pd.Timedelta(hours=row[1]) for row in rows],
            "is_fraud": [row[2] for row in rows],
        }
    )


def test_frauds_come_back_once_after_the_delay() -> None:
    releaser = ChargebackReleaser(timedelta(days=3))
    assert releaser.add(_rows(("a", 0, 1), ("b", 1, 0), ("c", 2, 1), ("d", 80, 1))) == 3
    assert releaser.add(_rows(("a", 0, 1))) == 0  # seen already
    assert releaser.release(T0 + pd.Timedelta(hours=71)) == []
    first = releaser.release(T0 + pd.Timedelta(hours=72))  # exactly 3 days after "a"
    assert [report.trans_num for report in first] == ["a"]
    assert first[0].source == "chargeback" and first[0].label == 1
    assert first[0].reported_at == datetime(2020, 6, 24, 12, tzinfo=UTC)
    later = releaser.release(datetime(2020, 6, 30, tzinfo=UTC))
    assert [report.trans_num for report in later] == ["c", "d"]  # "b" was legitimate
    assert releaser.release(datetime(2021, 1, 1)) == []
    assert releaser.waiting == 0


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay"):
        ChargebackReleaser(timedelta(days=-1))
