"""Every detection metric against small examples worked out by hand (arithmetic in comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraudwatch.model.metrics import (
    EPISODE_GAP_SECONDS,
    amount_caught,
    average_precision,
    average_precision_after_first,
    card_precision_at_k,
    episode_ids,
    episode_recall,
    first_of_episode,
    first_transaction_recall,
    precision_recall_f1,
    recall_at_alert_rate,
    roc_auc,
    small_amount_recall,
)

DAY = 86_400

# -- average precision -----------------------------------------------------------------------


def test_average_precision_by_hand() -> None:
    # Ranked by score: P(0.9) N(0.8) P(0.7) N(0.1); 2 positives.
    # Recall steps 0 → 0.5 at rank 1 (precision 1/1) and 0.5 → 1 at rank 3 (precision 2/3).
    # AP = 0.5 * 1 + 0.5 * 2/3 = 5/6.
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)


def test_average_precision_tied_scores_form_one_threshold() -> None:
    # Thresholds: 0.5 takes rows 0 and 1 at once (TP 1, FP 1: precision 1/2, recall 1/2);
    # 0.2 adds row 2 (TP 2, FP 1: precision 2/3, recall 1).
    # AP = 0.5 * 1/2 + 0.5 * 2/3 = 1/4 + 1/3 = 7/12 — whatever the order of the tied rows.
    assert average_precision([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(7 / 12)
    assert average_precision([0, 1, 1], [0.5, 0.5, 0.2]) == pytest.approx(7 / 12)


def test_average_precision_perfect_ranking_is_one() -> None:
    assert average_precision([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == pytest.approx(1.0)


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1], []])
def test_average_precision_needs_both_classes(labels: list[int]) -> None:
    assert math.isnan(average_precision(labels, [0.3, 0.2, 0.1][: len(labels)]))


# -- ROC-AUC ---------------------------------------------------------------------------------


def test_roc_auc_by_hand() -> None:
    # Positive-negative pairs: (0.9 vs 0.8) win, (0.9 vs 0.1) win, (0.7 vs 0.8) loss,
    # (0.7 vs 0.1) win → 3 of 4 pairs = 0.75.
    assert roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.75)


def test_roc_auc_ties_count_half() -> None:
    # Pairs: (0.5 vs 0.5) tie = 1/2, (0.5 vs 0.1) win = 1 → (0.5 + 1) / 2 = 0.75.
    assert roc_auc([1, 0, 0], [0.5, 0.5, 0.1]) == pytest.approx(0.75)
    # All scores equal: every pair a tie → 0.5.
    assert roc_auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_roc_auc_reversed_ranking_is_zero() -> None:
    assert roc_auc([1, 1, 0], [0.1, 0.2, 0.9]) == pytest.approx(0.0)


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1]])
def test_roc_auc_needs_both_classes(labels: list[int]) -> None:
    assert math.isnan(roc_auc(labels, [0.3, 0.2, 0.1]))


# -- precision, recall, F1 -------------------------------------------------------------------


def test_precision_recall_f1_by_hand() -> None:
    # labels  1 1 0 0 1
    # flagged 1 0 1 0 1 → TP = 2 (rows 0, 4), FP = 1 (row 2), FN = 1 (row 1).
    # precision = 2/3, recall = 2/3, F1 = 2 * (2/3)(2/3) / (4/3) = 2/3.
    result = precision_recall_f1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert result == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "flagged": 3})


def test_precision_recall_f1_unequal() -> None:
    # labels 1 1 1 1 0, flagged 1 0 0 0 0 → TP 1, flagged 1, positives 4.
    # precision = 1, recall = 1/4, F1 = 2 * 1 * 0.25 / 1.25 = 0.4.
    result = precision_recall_f1([1, 1, 1, 1, 0], [True, False, False, False, False])
    assert result == pytest.approx({"precision": 1.0, "recall": 0.25, "f1": 0.4, "flagged": 1})


def test_precision_recall_f1_nothing_flagged() -> None:
    # No flags: precision is 0/0 (NaN), recall 0/2 = 0, F1 undefined (NaN).
    result = precision_recall_f1([1, 0, 1], [0, 0, 0])
    assert math.isnan(result["precision"])
    assert result["recall"] == 0.0
    assert math.isnan(result["f1"])
    assert result["flagged"] == 0


def test_precision_recall_f1_no_positives() -> None:
    # No frauds, one flag: precision 0/1 = 0, recall 0/0 (NaN), F1 undefined.
    result = precision_recall_f1([0, 0, 0], [0, 1, 0])
    assert result["precision"] == 0.0
    assert math.isnan(result["recall"])
    assert math.isnan(result["f1"])


def test_precision_recall_f1_all_wrong_is_zero() -> None:
    # labels 1 0 0, flagged 0 1 1 → TP 0, FP 2, FN 1: precision 0/2 = 0, recall 0/1 = 0.
    # F1 = 2TP / (2TP + FP + FN) = 0 / 3 = 0: defined, and the worst possible score.
    result = precision_recall_f1([1, 0, 0], [0, 1, 1])
    assert result["f1"] == 0.0


# -- recall at a fixed alert rate --------------------------------------------------------------


def test_recall_at_alert_rate_by_hand() -> None:
    # 10 rows, rate 0.2 → budget ceil(2.0) = 2 alerts: the two highest scores, rows 1 (0.95)
    # and 3 (0.9). Frauds are rows 1, 5 and 9 → one of three caught: recall 1/3.
    labels = [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    scores = [0.1, 0.95, 0.2, 0.9, 0.3, 0.8, 0.4, 0.5, 0.6, 0.05]
    assert recall_at_alert_rate(labels, scores, 0.2) == pytest.approx(1 / 3)
    # rate 0.3 → 3 alerts: rows 1, 3, 5 → frauds 1 and 5 → 2/3.
    assert recall_at_alert_rate(labels, scores, 0.3) == pytest.approx(2 / 3)


def test_recall_at_alert_rate_rounds_the_budget_up() -> None:
    # 10 rows, rate 0.15 → 1.5 alerts → ceil = 2: rows 0 (0.9) and 1 (0.8) → fraud row 1 caught.
    assert (
        recall_at_alert_rate([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], np.linspace(0.9, 0.0, 10), 0.15) == 1.0
    )


def test_recall_at_alert_rate_edges() -> None:
    # No frauds → NaN; a rate outside (0, 1] is a mistake, not a budget; rate 1 alerts all.
    assert math.isnan(recall_at_alert_rate([0, 0, 0], [0.3, 0.2, 0.1], 0.5))
    for rate in (0.0, -0.34, 2.0):
        with pytest.raises(ValueError, match="alert rate"):
            recall_at_alert_rate([1, 0, 0], [0.3, 0.2, 0.1], rate)
    assert recall_at_alert_rate([0, 0, 1], [0.3, 0.2, 0.1], 1.0) == 1.0


def test_recall_at_alert_rate_breaks_ties_by_row_order() -> None:
    # Two rows tied at 0.5, budget ceil(0.5 * 2) = 1: the stable sort alerts the first row.
    # Fraud first → caught (1.0); fraud second → missed (0.0). Pinned, so a change is deliberate.
    assert recall_at_alert_rate([1, 0], [0.5, 0.5], 0.5) == 1.0
    assert recall_at_alert_rate([0, 1], [0.5, 0.5], 0.5) == 0.0


def test_recall_at_alert_rate_exact_budget() -> None:
    # 100 rows scored 100, 99, ..., 1; frauds at ranks 1 and 8 (rows 0 and 7).
    # rate 0.07 → 7 alerts (ranks 1–7) → 1 of 2 frauds → recall 0.5.
    labels = np.zeros(100, dtype=int)
    labels[[0, 7]] = 1
    scores = np.arange(100, 0, -1, dtype=float)
    assert recall_at_alert_rate(labels, scores, 0.07) == 0.5


# -- daily card precision@k --------------------------------------------------------------------


def _two_days() -> tuple[list[str], list[str], list[int], list[float]]:
    # day 1: card A rows (legit, 0.9) and (fraud, 0.2) → A: fraud, score max 0.9
    #        card B (legit, 0.8) → B: legit, 0.8;  card C (fraud, 0.1) → C: fraud, 0.1
    # day 2: card D (fraud, 0.7), card E (fraud, 0.6)
    days = ["d1", "d1", "d1", "d1", "d2", "d2"]
    cards = ["A", "A", "B", "C", "D", "E"]
    labels = [0, 1, 0, 1, 1, 1]
    scores = [0.9, 0.2, 0.8, 0.1, 0.7, 0.6]
    return days, cards, labels, scores


def test_card_precision_at_k_by_hand() -> None:
    # k = 2. Day 1 ranking A (0.9), B (0.8), C (0.1) → top 2 = A (fraud), B → 1/2.
    # Day 2 ranking D, E → both fraud → 2/2. Mean over days (0.5 + 1) / 2 = 0.75.
    assert card_precision_at_k(*_two_days(), k=2) == pytest.approx(0.75)
    # k = 1: day 1 → A → 1/1; day 2 → D → 1/1 → 1.0.
    assert card_precision_at_k(*_two_days(), k=1) == pytest.approx(1.0)


def test_card_precision_at_k_larger_than_the_cards_of_a_day() -> None:
    # k = 5, more than either day's cards: the Handbook still divides by k.
    # Day 1: all 3 cards, 2 frauds (A, C) → 2/5. Day 2: both cards fraud → 2/5. Mean 0.4.
    assert card_precision_at_k(*_two_days(), k=5) == pytest.approx(0.4)


def test_card_precision_at_k_counts_a_card_once_per_day() -> None:
    # Card A's three fraud rows on one day are one card: k = 2 → top A (fraud), B → 1/2,
    # not 2/2 (which counting rows would give).
    days = ["d1"] * 4
    cards = ["A", "A", "A", "B"]
    assert card_precision_at_k(days, cards, [1, 1, 1, 0], [0.9, 0.8, 0.7, 0.6], k=2) == 0.5


def test_card_precision_at_k_breaks_ties_by_first_appearance() -> None:
    # Two cards tied at 0.5, k = 1: the card seen first is taken.
    assert card_precision_at_k(["d", "d"], ["A", "B"], [1, 0], [0.5, 0.5], k=1) == 1.0
    assert card_precision_at_k(["d", "d"], ["B", "A"], [0, 1], [0.5, 0.5], k=1) == 0.0


def test_card_precision_at_k_no_rows_is_nan() -> None:
    assert math.isnan(card_precision_at_k([], [], [], [], k=3))


# -- share of the fraudulent amount caught -----------------------------------------------------


def test_amount_caught_by_hand() -> None:
    # Fraud amounts: 100 (flagged), 50 (missed), 25 (missed) → 100 / 175 = 4/7.
    # The flagged legitimate 999 does not count.
    assert amount_caught([1, 1, 0, 1], [1, 0, 1, 0], [100.0, 50.0, 999.0, 25.0]) == pytest.approx(
        4 / 7
    )


def test_amount_caught_edges() -> None:
    # No frauds → NaN; frauds of zero total amount → NaN; every fraud flagged → 1.
    assert math.isnan(amount_caught([0, 0], [1, 1], [10.0, 20.0]))
    assert math.isnan(amount_caught([1, 0], [1, 1], [0.0, 20.0]))
    assert amount_caught([1, 1, 0], [1, 1, 0], [3.0, 4.0, 5.0]) == 1.0


# -- fraud episodes ----------------------------------------------------------------------------


def test_episode_ids_split_by_card_and_by_gap() -> None:
    # row  card  t (seconds)               label
    #  0   A     0                         fraud
    #  1   B     100                       fraud
    #  2   A     3 days exactly            fraud  gap = 3 days, not more → same episode as row 0
    #  3   A     3 days + 3 days + 1 s     fraud  gap > 3 days → new episode
    #  4   A     50                        legit  → -1
    #  5   B     200                       fraud  same card as row 1, 100 s later → its episode
    # Sorted by (card, t): A rows 0, 2, 3 then B rows 1, 5 → episodes A:0, A:0, A:1, B:2, B:2.
    cards = ["A", "B", "A", "A", "A", "B"]
    seconds = [0, 100, 3 * DAY, 6 * DAY + 1, 50, 200]
    labels = [1, 1, 1, 1, 0, 1]
    assert episode_ids(cards, seconds, labels).tolist() == [0, 2, 0, 1, -1, 2]


def test_episode_ids_chain_frauds_closer_than_the_gap() -> None:
    # Frauds every 2 days for 8 days: each gap is under 3 days, so one episode spanning 8 days
    # (the gap is between consecutive frauds, not from the episode's start).
    seconds = [0, 2 * DAY, 4 * DAY, 6 * DAY, 8 * DAY]
    assert episode_ids(["A"] * 5, seconds, [1] * 5).tolist() == [0] * 5


def test_episode_ids_ignore_legit_rows_between_frauds() -> None:
    # Legitimate use in between does not end an episode; only the time gap does.
    ids = episode_ids(["A"] * 3, [0, DAY, 2 * DAY], [1, 0, 1])
    assert ids.tolist() == [0, -1, 0]


def test_episode_ids_unsorted_input_and_no_frauds() -> None:
    # Rows out of time order: t = 10 days, 0, 10 days + 1 h → sorted 0 | 10d, 10d + 1h:
    # gap 10 days splits → row 1 is episode 0, rows 0 and 2 episode 1.
    ids = episode_ids(["A", "A", "A"], [10 * DAY, 0, 10 * DAY + 3600], [1, 1, 1])
    assert ids.tolist() == [1, 0, 1]
    assert episode_ids(["A", "B"], [0, 1], [0, 0]).tolist() == [-1, -1]
    assert EPISODE_GAP_SECONDS == 3 * DAY


def test_episode_recall_by_hand() -> None:
    # Episodes 0 (rows 0, 1), 1 (row 2), 2 (row 4); row 3 is legitimate (-1).
    # Flags on rows 1 (episode 0) and 3 (legit, does not count) → 1 of 3 episodes caught.
    episodes = [0, 0, 1, -1, 2]
    assert episode_recall(episodes, [0, 1, 0, 1, 0]) == pytest.approx(1 / 3)
    # One flag per episode is enough: rows 0, 2, 4 → 3/3.
    assert episode_recall(episodes, [1, 0, 1, 0, 1]) == 1.0


def test_episode_recall_without_episodes_is_nan() -> None:
    assert math.isnan(episode_recall([-1, -1], [1, 0]))


def test_episode_pipeline_end_to_end() -> None:
    # Card A: frauds at 0 and 1 h (one episode), then at 5 days (second episode);
    # card B: one fraud. Flag only A's 1 h row → 1 of 3 episodes caught.
    cards = ["A", "A", "A", "B", "B"]
    seconds = [0, 3600, 5 * DAY, 0, 7200]
    labels = [1, 1, 1, 1, 0]
    ids = episode_ids(cards, seconds, labels)
    assert ids.tolist() == [0, 0, 1, 2, -1]
    assert episode_recall(ids, [0, 1, 0, 0, 1]) == pytest.approx(1 / 3)


# -- the hard cases: first transactions, small frauds ------------------------------------


def test_first_transaction_recall_by_hand() -> None:
    # row  episode  t     flagged
    #  0   0        100   no
    #  1   0        50    yes     ← episode 0's first (earliest, though listed second): caught
    #  2   1        10    yes     ← episode 1's first: caught
    #  3   -1       0     yes     legitimate: ignored
    #  4   1        20    no
    #  5   2        7     no      ← rows 5 and 6 tie on time; row order makes 5 the first: missed
    #  6   2        7     yes
    episodes = [0, 0, 1, -1, 1, 2, 2]
    seconds = [100, 50, 10, 0, 20, 7, 7]
    flagged = [0, 1, 1, 1, 0, 0, 1]
    # firsts: rows 1 (caught), 2 (caught), 5 (missed) → 2 of 3
    assert first_transaction_recall(episodes, seconds, flagged) == pytest.approx(2 / 3)
    # flagging only later rows catches no first transaction
    assert first_transaction_recall(episodes, seconds, [1, 0, 0, 1, 1, 0, 1]) == 0.0
    assert math.isnan(first_transaction_recall([-1], [0], [1]))


def test_average_precision_after_first_leaves_out_each_episodes_first_row() -> None:
    # row  label  episode  t    score
    #  0   1      0        5    0.2   ← episode 0's first: left out
    #  1   1      0        9    0.9
    #  2   0      -1       0    0.5
    #  3   1      1        3    0.8   ← episode 1's first: left out
    #  4   1      1        4    0.4
    #  5   0      -1       0    0.3
    labels, episodes = [1, 1, 0, 1, 1, 0], [0, 0, -1, 1, 1, -1]
    seconds, scores = [5, 9, 0, 3, 4, 0], [0.2, 0.9, 0.5, 0.8, 0.4, 0.3]
    # kept, by score: P(0.9) N(0.5) P(0.4) N(0.3) → AP = 0.5 * 1 + 0.5 * 2/3 = 5/6
    assert average_precision_after_first(labels, scores, episodes, seconds) == pytest.approx(5 / 6)
    # the full AP differs: the low-scored first row of episode 0 drags it down
    assert average_precision(labels, scores) == pytest.approx((1 + 1 + 3 / 4 + 4 / 6) / 4)
    assert list(first_of_episode(episodes, seconds)) == [True, False, False, True, False, False]


def test_small_amount_recall_by_hand() -> None:
    # gas: legit amounts 10, 20, 30 → median 20; frauds 5 (small, flagged), 50 (not small).
    # net: legit amounts 100, 200 → median 150; frauds 120 (small, missed), 150 (not < 150).
    # travel: a fraud with no legitimate row in its category has no median: left out.
    amounts = [10, 20, 30, 5, 50, 100, 200, 120, 150, 1]
    categories = ["gas"] * 5 + ["net"] * 4 + ["travel"]
    labels = [0, 0, 0, 1, 1, 0, 0, 1, 1, 1]
    flagged = [0, 0, 0, 1, 0, 0, 0, 0, 1, 1]
    # small frauds: rows 3 (flagged) and 7 (missed) → 1/2
    assert small_amount_recall(labels, flagged, amounts, categories) == pytest.approx(0.5)
    assert small_amount_recall(labels, [0] * 7 + [1, 0, 0], amounts, categories) == 0.5
    assert math.isnan(small_amount_recall([0, 1], [0, 1], [10, 20], ["gas", "gas"]))
