"""The dashboard's numbers against independent computations, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.dashboard import browse, model_info, queries
from fraudwatch.dashboard.filters import Filters, time_range
from fraudwatch.dashboard.source import Reader
from tests.dashboard.conftest import SeededStore
from tests.dashboard.seed import BASE_TIME, METADATA, MODEL_VERSION, Seeded, reasons_of


def newest_labels(seeded: Seeded) -> dict[str, int]:
    """trans_num → the newest verdict, from the labels in the order they were written."""
    return dict(seeded.labels)


def expected_rows(seeded: Seeded, filters: Filters) -> pd.DataFrame:
    """The rows the filters should select, computed with pandas on what was written."""
    frame = seeded.decisions.copy()
    frame["verdict"] = frame["trans_num"].map(newest_labels(seeded))
    mask = pd.Series(True, index=frame.index)
    if filters.start is not None:
        mask &= frame["event_time"] >= filters.start
    if filters.end is not None:
        mask &= frame["event_time"] < filters.end
    if filters.categories:
        mask &= frame["category"].isin(filters.categories)
    if filters.states:
        mask &= frame["state"].isin(filters.states)
    if filters.merchant:
        mask &= frame["merchant"].str.lower().str.contains(filters.merchant.lower(), regex=False)
    if filters.amount_min is not None:
        mask &= frame["amount"] >= filters.amount_min
    if filters.amount_max is not None:
        mask &= frame["amount"] <= filters.amount_max
    mask &= frame["fraud_probability"].between(filters.probability_min, filters.probability_max)
    if filters.decision != "all":
        mask &= frame["decision"] == (1 if filters.decision == "flagged" else 0)
    if filters.risk_levels:
        mask &= frame["risk_level"].isin(filters.risk_levels)
    verdict = frame["verdict"]
    if filters.label == "unlabelled":
        mask &= verdict.isna()
    elif filters.label == "labelled":
        mask &= verdict.notna()
    elif filters.label in ("fraud", "false_positive"):
        mask &= verdict == (1 if filters.label == "fraud" else 0)
    return frame.loc[mask]


def nearest_rank(values: np.ndarray, quantile: float) -> float:
    ordered = np.sort(values)
    return float(ordered[max(1, math.ceil(quantile * len(ordered))) - 1])


FILTERS = {
    "everything": Filters(),
    "categories": Filters(categories=("grocery_pos", "shopping_net", "travel")),
    "states": Filters(states=("CA", "NY")),
    "merchant, any case": Filters(merchant="KIRLIN"),
    "merchant with a comma": Filters(merchant="kutch, hermiston"),
    "amount range": Filters(amount_min=50.0, amount_max=150.0),
    "probability range": Filters(probability_min=0.3, probability_max=0.8),
    "flagged": Filters(decision="flagged"),
    "passed": Filters(decision="passed"),
    "risk levels": Filters(risk_levels=("MEDIUM", "HIGH")),
    "unlabelled": Filters(label="unlabelled"),
    "labelled": Filters(label="labelled"),
    "confirmed fraud": Filters(label="fraud"),
    "false positives": Filters(label="false_positive"),
    "time range": Filters(start=BASE_TIME + timedelta(hours=5), end=BASE_TIME + timedelta(hours=9)),
    "combined": Filters(categories=("grocery_pos", "misc_net"), amount_min=20.0, decision="passed"),
}


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_overview_kpis_follow_every_filter(seeded: SeededStore, filters: Filters) -> None:
    kpis = queries.overview(seeded.reader, filters)
    rows = expected_rows(seeded.seeded, filters)
    flagged = rows[rows["decision"] == 1]
    assert kpis.scored == len(rows)
    assert kpis.flagged == len(flagged)
    assert kpis.amount_at_risk == pytest.approx(flagged["amount"].sum())
    assert kpis.confirmed_fraud == int((rows["verdict"] == 1).sum())
    assert kpis.false_positives == int((rows["verdict"] == 0).sum())
    assert kpis.labelled_alerts == int(flagged["verdict"].notna().sum())
    assert kpis.confirmed_alerts == int((flagged["verdict"] == 1).sum())
    if len(rows):
        latency = rows["latency_ms"].to_numpy()
        assert kpis.latency_p50_ms == pytest.approx(nearest_rank(latency, 0.5))
        assert kpis.latency_p99_ms == pytest.approx(nearest_rank(latency, 0.99))
        assert kpis.last_event == rows["event_time"].max()
    else:
        assert kpis.latency_p50_ms is None and kpis.flag_rate is None


def test_filters_narrow_the_seeded_data(seeded: SeededStore) -> None:
    """Each filter case above selects some rows but not all (else the test proves little)."""
    total = len(seeded.seeded.decisions)
    for name, filters in FILTERS.items():
        if name != "everything":
            assert 0 < len(expected_rows(seeded.seeded, filters)) < total, name


def test_overview_equals_independent_sql(seeded: SeededStore) -> None:
    kpis = queries.overview(seeded.reader, Filters())
    assert kpis.scored == seeded.scalar("SELECT count(*) FROM decisions") == 3000
    assert kpis.flagged == seeded.scalar("SELECT sum(decision) FROM decisions")
    assert kpis.amount_at_risk == pytest.approx(
        seeded.scalar("SELECT sum(amount) FROM decisions WHERE decision = 1")
    )
    newest_is_fraud = """SELECT count(*) FROM decisions d WHERE (SELECT l.is_fraud FROM labels l
        WHERE l.trans_num = d.trans_num ORDER BY l.id DESC LIMIT 1) = 1"""
    assert kpis.confirmed_fraud == seeded.scalar(newest_is_fraud)


def test_trend_buckets_and_exact_p95(seeded: SeededStore) -> None:
    trend = queries.trend(seeded.reader, Filters(), bucket="hour")
    frame = seeded.seeded.decisions
    hours = frame["event_time"].dt.floor("h")
    assert trend["transactions"].sum() == len(frame)
    assert list(trend["bucket_start"]) == sorted(hours.unique())
    for row in trend.itertuples():
        in_bucket = frame.loc[hours == row.bucket_start]
        assert row.transactions == len(in_bucket)
        assert row.flagged == in_bucket["decision"].sum()
        assert row.mean_probability == pytest.approx(in_bucket["fraud_probability"].mean())
        expected = nearest_rank(in_bucket["fraud_probability"].to_numpy(), 0.95)
        assert row.p95_probability == pytest.approx(expected)
    assert trend.attrs["bucket"] == "hour"


def test_trend_picks_minutes_for_short_ranges(seeded: SeededStore) -> None:
    newest = seeded.seeded.decisions["event_time"].max()
    start, end = time_range("Last hour", newest)
    trend = queries.trend(seeded.reader, Filters(start=start, end=end))
    assert trend.attrs["bucket"] == "minute"
    assert trend["transactions"].sum() == len(expected_rows(seeded.seeded, Filters(start=start)))


def test_category_and_state_breakdowns(seeded: SeededStore) -> None:
    frame = seeded.seeded.decisions
    categories = queries.by_category(seeded.reader, Filters()).set_index("category")
    counts = frame.groupby("category")["decision"].agg(["size", "sum"])
    assert categories["transactions"].to_dict() == counts["size"].to_dict()
    assert categories["flagged"].to_dict() == counts["sum"].to_dict()
    states = queries.by_state(seeded.reader, Filters(), limit=50).set_index("state")
    flagged = frame[frame["decision"] == 1].fillna({"state": "unknown"})
    amounts = flagged.groupby("state")["amount"].sum()
    assert states["flagged_amount"].to_dict() == pytest.approx(amounts.to_dict())
    assert list(states["flagged_amount"]) == sorted(states["flagged_amount"], reverse=True)


def test_paging_and_sorting(seeded: SeededStore) -> None:
    filters = Filters(categories=("grocery_pos", "travel"))
    page = browse.transactions_page(
        seeded.reader, filters, page=2, page_size=20, sort="amount", descending=True
    )
    rows = expected_rows(seeded.seeded, filters).sort_values(
        ["amount", "trans_num"], ascending=[False, True]
    )
    assert page.total == len(rows) and page.pages == math.ceil(len(rows) / 20)
    assert page.rows["trans_num"].tolist() == rows["trans_num"].iloc[20:40].tolist()
    beyond = browse.transactions_page(seeded.reader, filters, page=10_000, page_size=20)
    assert beyond.page == page.pages and len(beyond.rows) > 0
    with pytest.raises(ValueError, match="cannot sort"):
        browse.transactions_page(seeded.reader, filters, sort="amount; DROP TABLE decisions")


def test_alert_queue_holds_flagged_rows_with_their_labels(seeded: SeededStore) -> None:
    page = browse.transactions_page(
        seeded.reader, Filters(), page_size=500, sort="probability", alerts_only=True
    )
    flagged = seeded.seeded.decisions.query("decision == 1")
    assert page.total == len(flagged)
    assert set(page.rows["trans_num"]) == set(flagged["trans_num"])
    assert page.rows["alerted_at"].notna().all()
    labels = newest_labels(seeded.seeded)
    first = seeded.seeded.labels[0][0]
    shown = page.rows.set_index("trans_num")["label"]
    assert labels[first] == 1 and shown[first] == "fraud · analyst"


def test_drill_down_and_card_history(seeded: SeededStore) -> None:
    trans_num = seeded.seeded.labels[0][0]  # labelled twice: false positive, then fraud
    detail = browse.transaction_detail(seeded.reader, trans_num)
    assert detail is not None
    row = seeded.seeded.decisions.set_index("trans_num").loc[trans_num]
    assert detail.masked_pan == row["masked_pan"] and "*" in detail.masked_pan
    assert detail.reasons == reasons_of(seeded.seeded.decisions, trans_num)
    assert [v.is_fraud for v in detail.verdicts] == [True, False]
    assert detail.verdict is not None and detail.verdict.analyst == "second-analyst"
    history = browse.card_history(seeded.reader, detail.card_token, before=detail.event_time)
    frame = seeded.seeded.decisions
    same_card = frame[(frame["card_token"] == detail.card_token)]
    same_card = same_card[same_card["event_time"] <= detail.event_time]
    assert (
        history["trans_num"].tolist()
        == same_card.sort_values("event_time", ascending=False)["trans_num"].head(20).tolist()
    )
    assert browse.transaction_detail(seeded.reader, "no-such-transaction") is None


def test_model_information_and_live_precision(seeded: SeededStore) -> None:
    info = model_info.current_model(seeded.reader)
    assert info is not None and info.version == MODEL_VERSION and info.is_champion
    assert info.threshold == METADATA["threshold"]
    table = info.validation_table()
    assert table.loc["average_precision", "model"] == pytest.approx(0.946)
    daily = model_info.live_precision(seeded.reader, Filters())
    flagged = expected_rows(seeded.seeded, Filters(decision="flagged", label="labelled"))
    assert daily["labelled"].sum() == len(flagged)
    assert daily["confirmed"].sum() == int((flagged["verdict"] == 1).sum())
    usage = model_info.decisions_by_model(seeded.reader, Filters())
    assert usage.set_index("model_version").loc[MODEL_VERSION, "decisions"] == 3000


def test_reader_is_read_only(seeded: SeededStore) -> None:
    def write(conn: sa.Connection) -> None:
        conn.execute(sa.text("DELETE FROM decisions"))

    with pytest.raises(sa.exc.DBAPIError):
        seeded.reader.run(write, "attempted write")
    assert seeded.scalar("SELECT count(*) FROM decisions") == 3000


def test_empty_and_missing_tables(store_url: str) -> None:
    reader = Reader(store_url)
    try:
        assert reader.has_schema() is False
        reader.store.upgrade()
        assert reader.has_schema() is True
        kpis = queries.overview(reader, Filters())
        assert (kpis.scored, kpis.flagged, kpis.last_event) == (0, 0, None)
        assert queries.trend(reader, Filters()).empty
        assert queries.freshness(reader) == (None, None)
        assert model_info.current_model(reader) is None
        assert browse.transactions_page(reader, Filters()).total == 0
    finally:
        reader.close()


def test_large_selections_use_sampled_percentiles_on_postgres(
    seeded: SeededStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fraudwatch.dashboard import percentiles

    monkeypatch.setattr(percentiles, "EXACT_LIMIT", 1000)
    kpis = queries.overview(seeded.reader, Filters())
    latency = seeded.seeded.decisions["latency_ms"].to_numpy()
    trend = queries.trend(seeded.reader, Filters(), bucket="day")
    if seeded.reader.backend != "postgresql":  # SQLite is always exact
        assert kpis.sample_percent is None
        assert kpis.latency_p50_ms == pytest.approx(nearest_rank(latency, 0.5))
        return
    assert kpis.sample_percent == pytest.approx(33.333)
    assert trend.attrs["sample_percent"] == pytest.approx(33.333)
    assert nearest_rank(latency, 0.3) <= (kpis.latency_p50_ms or 0) <= nearest_rank(latency, 0.7)
    assert (kpis.latency_p99_ms or 0) >= nearest_rank(latency, 0.9)
    probability = seeded.seeded.decisions["fraud_probability"].to_numpy()
    for value in trend["p95_probability"]:
        assert nearest_rank(probability, 0.85) <= value <= probability.max()


@pytest.mark.parametrize("combined", [True, False], ids=["one scan", "separate trend scan"])
def test_overview_page_data_equals_the_separate_queries(
    seeded: SeededStore, monkeypatch: pytest.MonkeyPatch, combined: bool
) -> None:
    monkeypatch.setattr(queries, "COMBINED_BUCKETS", 100 if combined else 0)
    filters = FILTERS["combined"]
    data = queries.overview_data(seeded.reader, filters)
    assert data.overview == queries.overview(seeded.reader, filters)
    pd.testing.assert_frame_equal(data.trend, queries.trend(seeded.reader, filters))
    pd.testing.assert_frame_equal(data.categories, queries.by_category(seeded.reader, filters))
    pd.testing.assert_frame_equal(data.states, queries.by_state(seeded.reader, filters))
    assert data.trend["transactions"].sum() == len(expected_rows(seeded.seeded, filters))
