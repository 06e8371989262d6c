"""The seeded simulator: determinism, labels, scenario shapes, schema and the Kaggle layout."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.schema import CATEGORIES, KAGGLE_COLUMNS, SCENARIO_COLUMN, validate_batch
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.simulator import (
    SCENARIOS,
    SimulatorConfig,
    shares_for,
    simulate,
    simulate_to_csv,
)
from fraudwatch.sources.simulator.config import COMPROMISED_MERCHANT
from fraudwatch.sources.simulator.legit import legit_rows
from fraudwatch.sources.simulator.population import build_population
from fraudwatch.sources.simulator.rows import Block
from fraudwatch.sources.simulator.scenarios import (
    CARD_PRESENT_CATEGORIES,
    ScenarioContext,
    compromised_merchant,
)
from fraudwatch.sources.simulator.state import SimulationState

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kaggle_fraudTest_head.csv"
START = dt.date(2020, 1, 1)
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)
TIME = "trans_date_trans_time"
CARD_PRESENT = [CATEGORIES[number] for number in CARD_PRESENT_CATEGORIES]


def run(config: SimulatorConfig, days: int, start: dt.date = START) -> pd.DataFrame:
    frames = simulate(config, start, start + dt.timedelta(days=days))
    return pd.concat(list(frames), ignore_index=True)


def distance_km(lat1: pd.Series, long1: pd.Series, lat2: pd.Series, long2: pd.Series) -> np.ndarray:
    phi1, phi2 = np.radians(lat1.to_numpy()), np.radians(lat2.to_numpy())
    d_phi, d_lambda = phi2 - phi1, np.radians(long2.to_numpy() - long1.to_numpy())
    half = np.sin(d_phi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(half)))


def with_episodes(rows: pd.DataFrame, gap: pd.Timedelta = 2 * DAY) -> pd.DataFrame:
    """Number each card's fraud episodes: a new one starts after a quiet ``gap``."""
    rows = rows.sort_values(["cc_num", TIME])
    new = (rows["cc_num"] != rows["cc_num"].shift()) | (rows[TIME].diff() > gap)
    return rows.assign(episode=new.cumsum())


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


@pytest.fixture(scope="module")
def baseline() -> list[pd.DataFrame]:
    """Default fraud rate, big enough for a stable rate: 300 cards over 120 days."""
    return list(simulate(SimulatorConfig(customers=300, seed=7), START, START + dt.timedelta(120)))


@pytest.fixture(scope="module")
def rich() -> pd.DataFrame:
    """More fraud than default so that every scenario has many episodes."""
    return run(SimulatorConfig(customers=400, seed=11, fraud_rate=0.01), days=120)


# --- determinism ----------------------------------------------------------------------------


def test_same_config_gives_identical_records_and_bytes(tmp_path: Path) -> None:
    config = SimulatorConfig(customers=60, seed=3, block_days=10)
    pd.testing.assert_frame_equal(run(config, 45), run(config, 45))
    end = START + dt.timedelta(days=45)
    simulate_to_csv(config, START, end, tmp_path / "a.csv")
    simulate_to_csv(config, START, end, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_different_seed_gives_different_records() -> None:
    first = run(SimulatorConfig(customers=60, seed=3), 20)
    second = run(SimulatorConfig(customers=60, seed=4), 20)
    assert not first["cc_num"].isin(second["cc_num"]).any()
    assert set(first["trans_num"]).isdisjoint(second["trans_num"])


def test_endless_stream_matches_bounded_run_for_the_same_days() -> None:
    config = SimulatorConfig(customers=80, seed=5, fraud_rate=0.02, block_days=7)
    days = 25  # not a whole number of blocks: the bounded run cuts its last block
    bounded = run(config, days)
    endless = pd.concat(itertools.islice(simulate(config, START, None), 4), ignore_index=True)
    cut = pd.Timestamp(START + dt.timedelta(days=days))
    assert endless[TIME].max() >= cut  # the stream's fourth block goes past the bounded end
    pd.testing.assert_frame_equal(bounded, endless[endless[TIME] < cut])
    assert bounded["is_fraud"].sum() > 0


def test_population_does_not_depend_on_the_dates() -> None:
    config = SimulatorConfig(customers=40, seed=9)
    early = run(config, 10)
    late = run(config, 10, start=dt.date(2021, 6, 1))
    columns = ["cc_num", "first", "last", "street", "city", "job", "dob"]
    assert set(map(tuple, early[columns].to_numpy())) <= set(map(tuple, late[columns].to_numpy()))


def test_on_rows_reports_every_chunk() -> None:
    reported: list[int] = []
    frames = list(simulate(SimulatorConfig(customers=30, block_days=5), START,
                           START + dt.timedelta(days=12), on_rows=reported.append))  # fmt: skip
    assert reported == [len(frame) for frame in frames]
    assert len(frames) == 3


# --- labels and rates -----------------------------------------------------------------------


def test_every_scenario_is_present_and_labelled(rich: pd.DataFrame) -> None:
    fraud = rich[rich["is_fraud"] == 1]
    assert set(fraud[SCENARIO_COLUMN]) == set(SCENARIOS)
    legit = rich[rich["is_fraud"] == 0]
    assert (legit[SCENARIO_COLUMN] == "").all()
    assert set(rich["is_fraud"]) == {0, 1}


def test_overall_fraud_rate_follows_the_config(baseline: list[pd.DataFrame]) -> None:
    records = pd.concat(baseline)
    assert len(records) > 60_000
    assert records["is_fraud"].mean() == pytest.approx(0.005, rel=0.2)
    shares = records[records["is_fraud"] == 1][SCENARIO_COLUMN].value_counts(normalize=True)
    assert shares["night_burst"] == pytest.approx(0.7, abs=0.1)


def test_scenario_mix_and_higher_rate(rich: pd.DataFrame) -> None:
    assert rich["is_fraud"].mean() == pytest.approx(0.01, rel=0.2)
    shares = rich[rich["is_fraud"] == 1][SCENARIO_COLUMN].value_counts(normalize=True)
    for name in ("card_testing", "account_takeover", "compromised_merchant"):
        assert shares[name] == pytest.approx(0.1, abs=0.05)


def test_scenario_shares_choose_which_scenarios_run() -> None:
    config = SimulatorConfig(customers=200, seed=5, fraud_rate=0.01, scenario_shares=(1, 0, 0, 0))
    records = run(config, 90)
    fraud = records[records["is_fraud"] == 1]
    assert records["is_fraud"].mean() == pytest.approx(0.01, rel=0.25)
    assert set(fraud[SCENARIO_COLUMN]) == {"night_burst"}
    # the same card holders and legitimate spending as with the default mix
    default = run(SimulatorConfig(customers=200, seed=5, fraud_rate=0.01), 90)
    assert set(records["cc_num"]) == set(default["cc_num"])
    two = run(replace(config, scenario_shares=shares_for(["card_testing", "account_takeover"])), 90)
    counts = two[two["is_fraud"] == 1][SCENARIO_COLUMN].value_counts(normalize=True)
    assert set(counts.index) == {"card_testing", "account_takeover"}
    assert counts["card_testing"] == pytest.approx(0.5, abs=0.15)


def test_shares_for_keeps_default_proportions_and_names_unknown_scenarios() -> None:
    assert shares_for(["night_burst"]) == (1.0, 0.0, 0.0, 0.0)
    assert shares_for(["card_testing", "compromised_merchant"]) == (0.0, 0.5, 0.0, 0.5)
    assert shares_for(list(reversed(SCENARIOS))) == SimulatorConfig().scenario_shares
    with pytest.raises(ValueError, match="unknown fraud scenario 'skimming'; choose from night"):
        shares_for(["night_burst", "skimming"])
    with pytest.raises(ValueError, match="no fraud scenario given"):
        shares_for([])


def test_zero_fraud_rate_gives_no_fraud() -> None:
    records = run(SimulatorConfig(customers=50, fraud_rate=0.0), 40)
    assert records["is_fraud"].sum() == 0


def test_fraud_follows_first_legit_and_respects_the_cooldown(rich: pd.DataFrame) -> None:
    first_legit = rich[rich["is_fraud"] == 0].groupby("cc_num")[TIME].min()
    fraud = rich[rich["is_fraud"] == 1]
    first_fraud = fraud.groupby("cc_num")[TIME].min()
    assert (first_fraud > first_legit.reindex(first_fraud.index)).all()
    gaps = with_episodes(fraud).groupby("cc_num")[TIME].diff().dropna()
    assert ((gaps < 2 * DAY) | (gaps >= 59 * DAY)).all()


# --- scenario shapes --------------------------------------------------------------------------


def test_night_burst_is_a_night_of_many_purchases_on_a_quiet_card(rich: pd.DataFrame) -> None:
    burst = with_episodes(rich[rich[SCENARIO_COLUMN] == "night_burst"])
    hours = burst[TIME].dt.hour
    assert ((hours >= 22) | (hours < 4)).mean() > 0.75
    episodes = burst.groupby("episode")
    assert episodes.size().between(4, 16).all() and episodes.size().mean() > 7
    assert (episodes[TIME].max() - episodes[TIME].min()).max() < 2 * DAY
    burst_days = set(zip(burst["cc_num"], burst[TIME].dt.date, strict=True))
    legit = rich[rich["is_fraud"] == 0]
    legit_days = set(zip(legit["cc_num"], legit[TIME].dt.date, strict=True))
    assert not burst_days & legit_days
    median_amount = burst.groupby("category")["amt"].median()
    assert median_amount["shopping_net"] > 700 and median_amount["gas_transport"] < 25


def test_card_testing_is_tiny_online_amounts_then_a_large_one(rich: pd.DataFrame) -> None:
    testing = with_episodes(rich[rich[SCENARIO_COLUMN] == "card_testing"], gap=3 * HOUR)
    assert testing["episode"].nunique() >= 10
    for _, episode in testing.groupby("episode"):
        tiny, large = episode.iloc[:-1], episode.iloc[-1]
        assert 3 <= len(tiny) <= 6
        assert (tiny["amt"] <= 3).all() and large["amt"] >= 500
        assert tiny[TIME].max() - tiny[TIME].min() <= pd.Timedelta(minutes=10)
        assert pd.Timedelta(0) < large[TIME] - tiny[TIME].max() <= HOUR
        assert tiny["merchant"].is_unique
        assert tiny["category"].str.endswith("_net").all()


def test_account_takeover_jumps_far_from_home_right_after_a_home_purchase(
    rich: pd.DataFrame,
) -> None:
    takeover = with_episodes(rich[rich[SCENARIO_COLUMN] == "account_takeover"], gap=DAY)
    first = takeover.groupby("episode").head(1)
    assert len(first) >= 10
    far = distance_km(first["lat"], first["long"], first["merch_lat"], first["merch_long"])
    assert (far >= 1000).all()
    legit = rich[rich["is_fraud"] == 0]
    home_km = distance_km(legit["lat"], legit["long"], legit["merch_lat"], legit["merch_long"])
    at_home = legit[home_km < 200][["cc_num", TIME]]
    pairs = first[["cc_num", TIME, "episode"]].merge(at_home, on="cc_num", suffixes=("", "_home"))
    before = pairs[
        (pairs[f"{TIME}_home"] < pairs[TIME]) & (pairs[f"{TIME}_home"] >= pairs[TIME] - 2 * HOUR)
    ]
    assert set(before["episode"]) == set(first["episode"])
    sizes = takeover.groupby("episode").size()
    assert sizes.between(2, 5).all()


def test_compromised_merchant_victims_shopped_together_before(rich: pd.DataFrame) -> None:
    """End to end: each victim shopped where at least two other victims did, days apart."""
    victims = with_episodes(rich[rich[SCENARIO_COLUMN] == "compromised_merchant"])
    starts = victims.groupby("episode").agg(cc_num=("cc_num", "first"), fraud_at=(TIME, "min"))
    legit = rich[(rich["is_fraud"] == 0) & rich["category"].isin(CARD_PRESENT)]
    visits = legit[["cc_num", "merchant", TIME]].merge(starts.reset_index(), on="cc_num")
    visits = visits[
        (visits[TIME] < visits["fraud_at"] - DAY) & (visits[TIME] >= visits["fraud_at"] - 18 * DAY)
    ]
    pairs = visits.merge(visits, on="merchant", suffixes=("", "_other"))
    together = pairs[
        (pairs["cc_num"] != pairs["cc_num_other"])
        & ((pairs[TIME] - pairs[f"{TIME}_other"]).abs() <= 5 * DAY)
    ]
    companions = together.groupby(["episode", "merchant", TIME])["cc_num_other"].nunique()
    best = companions.groupby(level="episode").max().reindex(starts.index, fill_value=0)
    assert len(starts) >= 20
    assert (best >= 2).mean() >= 0.9


@pytest.mark.parametrize("seed", range(4))
def test_compromised_merchant_breach_defrauds_many_visitors_of_one_merchant(seed: int) -> None:
    """One breach: all victims visited one merchant within days, a big share of its visitors."""
    config = SimulatorConfig(customers=300, seed=seed)
    population = build_population(config)
    block = Block(0, np.datetime64("2020-03-01"), 20)
    rng = np.random.default_rng(seed)
    legit = legit_rows(population, block, rng)
    state = SimulationState.start(config.customers)
    state.record_legit(legit)
    state.debt[COMPROMISED_MERCHANT] = 1.0  # exactly one breach pays this back
    fraud = compromised_merchant(ScenarioContext(population, block, state), legit, rng)
    victims = np.unique(fraud.customer)
    assert len(victims) >= 3
    first_fraud = pd.Series(fraud.time).groupby(fraud.customer).min()
    present = np.isin(legit.category, CARD_PRESENT_CATEGORIES)
    merchant_sets = []
    for victim in victims:
        mine = present & (legit.customer == victim) & (legit.time < first_fraud[victim] - 86_400)
        mine &= legit.time >= first_fraud[victim] - 18 * 86_400
        merchant_sets.append(set(legit.merchant[mine].tolist()))
    common = set.intersection(*merchant_sets)
    assert common
    best_share = 0.0
    window = 5 * 86_400  # a breach lasts at most five days
    for merchant in common:
        at_merchant = present & (legit.merchant == merchant)
        visit_times, visitors = legit.time[at_merchant], legit.customer[at_merchant]
        for opening in visit_times[np.isin(visitors, victims)]:
            inside = (visit_times >= opening) & (visit_times <= opening + window)
            if set(victims) <= set(visitors[inside].tolist()):
                best_share = max(best_share, len(victims) / len(np.unique(visitors[inside])))
    assert best_share >= 0.25


# --- schema and formats ---------------------------------------------------------------------


def test_output_passes_validation_with_kaggle_formats(baseline: list[pd.DataFrame]) -> None:
    records = pd.concat(baseline, ignore_index=True)
    assert list(records.columns) == [*KAGGLE_COLUMNS, SCENARIO_COLUMN]
    checked = validate_batch(records)
    assert checked.rejected == []
    assert len(checked.valid) == len(records)
    assert pd.api.types.is_datetime64_dtype(records[TIME])
    assert pd.api.types.is_datetime64_dtype(records["dob"])
    assert records["trans_num"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert records["trans_num"].is_unique
    cards = records["cc_num"].drop_duplicates()
    assert cards.str.fullmatch(r"\d{13,19}").all() and cards.map(luhn_valid).all()
    assert (cards.str.len() == 16).mean() > 0.5 and {15, 19} <= set(cards.str.len())
    assert records["merchant"].str.startswith("fraud_").all()
    assert records["merchant"].str.contains(",").any() and records["job"].str.contains(",").any()
    assert records["category"].isin(CATEGORIES).all()
    assert (records["amt"] == records["amt"].round(2)).all() and (records["amt"] > 0).all()
    assert records["gender"].isin(["M", "F"]).all()
    assert ((records["lat"] - records["lat"].round(4)).abs() < 1e-9).all()
    assert records["merchant"].nunique() > 500


def test_unix_time_is_the_event_time_seven_years_back(baseline: list[pd.DataFrame]) -> None:
    records = pd.concat(baseline, ignore_index=True)
    earlier = records[TIME] - pd.DateOffset(years=7)
    expected = (earlier - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    assert (records["unix_time"] == expected).all()
    leap = simulate(SimulatorConfig(customers=30), dt.date(2020, 2, 29), dt.date(2020, 3, 1))
    leap_day = next(leap)
    shifted = pd.to_datetime(leap_day["unix_time"], unit="s")
    assert (shifted.dt.strftime("%m-%d") == "02-28").all()


def test_chunks_are_time_ordered(baseline: list[pd.DataFrame]) -> None:
    assert len(baseline) == 4
    for frame in baseline:
        assert frame[TIME].is_monotonic_increasing
    for earlier, later in itertools.pairwise(baseline):
        assert earlier[TIME].max() <= later[TIME].min()


def test_merchants_are_near_home_except_far_scenarios(rich: pd.DataFrame) -> None:
    near = rich[rich[SCENARIO_COLUMN].isin(["night_burst", "card_testing", "compromised_merchant"])]
    assert ((near["merch_lat"] - near["lat"]).abs() <= 1.0 + 1e-6).all()
    assert ((near["merch_long"] - near["long"]).abs() <= 1.0 + 1e-6).all()
    legit = rich[rich["is_fraud"] == 0]
    away = distance_km(legit["lat"], legit["long"], legit["merch_lat"], legit["merch_long"]) > 300
    assert 0.002 < away.mean() < 0.05  # legitimate trips: distance alone is not proof


# --- Kaggle-layout CSV ----------------------------------------------------------------------


def test_csv_round_trip_matches_records_and_kaggle_header(tmp_path: Path) -> None:
    config = SimulatorConfig(customers=80, seed=21, fraud_rate=0.02)
    end = START + dt.timedelta(days=30)
    out = tmp_path / "sim.csv"
    records = run(config, 30)
    assert simulate_to_csv(config, START, end, out) == {out: len(records)}
    header = out.read_text(encoding="utf-8").split("\n", 1)[0]
    kaggle_header = FIXTURE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == f"{kaggle_header},{SCENARIO_COLUMN}"
    read_back = pd.read_csv(out, index_col=0)
    expected = records.assign(
        trans_date_trans_time=records[TIME].dt.strftime("%Y-%m-%d %H:%M:%S"),
        dob=records["dob"].dt.strftime("%Y-%m-%d"),
        cc_num=records["cc_num"].astype("int64"),
        fraud_scenario=records[SCENARIO_COLUMN].replace("", np.nan),
    )
    pd.testing.assert_frame_equal(read_back, expected, check_dtype=False, check_index_type=False)
    assert (
        read_back["merchant"].str.contains(",").any() and read_back["job"].str.contains(",").any()
    )
    chunks = list(read_transactions(out, chunk_rows=1000))
    assert sum(map(len, chunks)) == len(records)
    assert validate_batch(pd.concat(chunks)).rejected == []


def test_split_at_writes_train_and_test_files(tmp_path: Path) -> None:
    config = SimulatorConfig(customers=60, seed=2, block_days=10)
    end, split_at = START + dt.timedelta(days=35), START + dt.timedelta(days=17)
    whole = simulate_to_csv(config, START, end, tmp_path / "whole.csv")
    written = simulate_to_csv(config, START, end, tmp_path / "sim.csv", split_at=split_at)
    train_path, test_path = tmp_path / "sim_train.csv", tmp_path / "sim_test.csv"
    assert set(written) == {train_path, test_path}
    train = pd.read_csv(train_path, index_col=0, parse_dates=[TIME])
    test = pd.read_csv(test_path, index_col=0, parse_dates=[TIME])
    assert (train[TIME] < pd.Timestamp(split_at)).all() and (
        test[TIME] >= pd.Timestamp(split_at)
    ).all()
    assert written[train_path] == len(train) > 0 and written[test_path] == len(test) > 0
    assert len(train) + len(test) == sum(whole.values())
    assert test.index[0] == 0
    combined = pd.concat([train, test], ignore_index=True)
    everything = pd.read_csv(tmp_path / "whole.csv", index_col=0, parse_dates=[TIME])
    pd.testing.assert_frame_equal(combined, everything)


def test_empty_range_still_writes_a_header(tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert simulate_to_csv(SimulatorConfig(customers=5), START, START, out) == {out: 0}
    assert out.read_text(encoding="utf-8").startswith(",trans_date_trans_time,")
    assert list(simulate(SimulatorConfig(customers=5), START, START)) == []


@pytest.mark.parametrize(
    "settings",
    [{"customers": 0}, {"fraud_rate": -0.1}, {"fraud_rate": 0.6}, {"block_days": 0}, {"seed": -1},
     {"merchants_per_category": 0}, {"scenario_shares": (0.5, 0.5, 0.5, 0.5)},
     {"scenario_shares": (1.0, 0.0, 0.0)}, {"scenario_shares": (1.5, -0.5, 0.0, 0.0)}],
)  # fmt: skip
def test_invalid_config_is_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(settings))):
        SimulatorConfig(**settings)  # type: ignore[arg-type]


def test_a_date_time_start_means_its_day() -> None:
    config = SimulatorConfig(customers=20)
    from_midday = simulate(config, dt.datetime(2020, 1, 1, 15, 30), dt.datetime(2020, 1, 3, 1))
    pd.testing.assert_frame_equal(pd.concat(list(from_midday), ignore_index=True), run(config, 2))


def test_invalid_dates_are_rejected() -> None:
    with pytest.raises(ValueError, match="before start"):
        simulate(SimulatorConfig(), START, START - dt.timedelta(days=1))
    with pytest.raises(ValueError, match="on or after"):
        simulate(SimulatorConfig(), dt.date(1990, 1, 1), None)
