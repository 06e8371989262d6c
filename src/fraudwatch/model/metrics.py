"""Detection metrics, each small enough to check by hand.

Beyond AP and ROC-AUC, these answer the questions fraud teams ask: of the alerts we can
afford (a fixed alert rate, or the 100 cards a day analysts can review), how many are
fraud; what share of the stolen amount is stopped; and is every fraud *episode* (one
card's burst) caught at least once.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

FloatArray = npt.NDArray[np.float64]
EPISODE_GAP_SECONDS = 3 * 86_400


def average_precision(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the precision-recall curve (step-wise, as scikit-learn computes it)."""
    y = np.asarray(labels)
    return float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else math.nan


def pr_curve_points(
    labels: npt.ArrayLike, scores: npt.ArrayLike, points: int = 200
) -> dict[str, list[float]]:
    """The precision-recall curve thinned to about ``points`` points (for plots, metadata).

    Kept points are evenly spaced in recall, from recall 1 down to 0, and always include
    both ends; values are rounded to 5 decimals.
    """
    y = np.asarray(labels)
    if not 0 < y.sum() < len(y):
        return {"precision": [], "recall": []}
    precision, recall, _ = precision_recall_curve(y, scores)  # recall falls from 1 to 0
    order = np.arange(len(recall))[::-1]  # ascending recall, for searchsorted
    wanted = np.linspace(0.0, 1.0, points)
    picked = order[np.searchsorted(recall[order], wanted, side="left").clip(0, len(order) - 1)]
    keep = np.unique(np.concatenate(([0, len(recall) - 1], picked)))
    return {
        "precision": [round(float(p), 5) for p in precision[keep]],
        "recall": [round(float(r), 5) for r in recall[keep]],
    }


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve (NaN when only one class is present)."""
    y = np.asarray(labels)
    return float(roc_auc_score(y, scores)) if 0 < y.sum() < len(y) else math.nan


def precision_recall_f1(labels: npt.ArrayLike, flagged: npt.ArrayLike) -> dict[str, float]:
    """Precision, recall and F1 of a set of flags (NaN where undefined)."""
    y = np.asarray(labels, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    true_positives = float((y & f).sum())
    precision = true_positives / f.sum() if f.sum() else math.nan
    recall = true_positives / y.sum() if y.sum() else math.nan
    if math.isnan(precision) or math.isnan(recall):
        f1 = math.nan
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": float(f.sum())}


def recall_at_alert_rate(labels: npt.ArrayLike, scores: npt.ArrayLike, rate: float) -> float:
    """Recall when only the top ``rate`` share of transactions (by score) can be alerted."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if not 0 < rate <= 1:
        raise ValueError(f"alert rate must lie in (0, 1], got {rate}")
    budget = math.ceil(round(rate * len(s), 9))  # 0.07 * 100 is 7.000000000000001
    if not y.any() or budget == 0:
        return math.nan
    top = np.argsort(-s, kind="stable")[:budget]
    return float(y[top].sum() / y.sum())


def card_precision_at_k(
    days: npt.ArrayLike,
    cards: npt.ArrayLike,
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    k: int = 100,
) -> float:
    """Daily card precision@k: each day, of the k cards with the highest score, the share
    that had a fraud that day — averaged over days (Fraud Detection Handbook's CP@k)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "day": np.asarray(days),
            "card": np.asarray(cards),
            "y": np.asarray(labels, dtype=np.int64),
            "s": np.asarray(scores),
        }
    )
    per_card = frame.groupby(["day", "card"], sort=False).agg(y=("y", "max"), s=("s", "max"))
    per_card = per_card.reset_index().sort_values(
        ["day", "s"], ascending=[True, False], kind="stable"
    )
    top = per_card.groupby("day", sort=True).head(k)
    daily = top.groupby("day")["y"].sum() / k
    return float(daily.mean()) if len(daily) else math.nan


def amount_caught(labels: npt.ArrayLike, flagged: npt.ArrayLike, amounts: npt.ArrayLike) -> float:
    """Share of the fraudulent amount that was flagged."""
    y = np.asarray(labels, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    a = np.asarray(amounts, dtype=np.float64)
    total = a[y].sum()
    return float(a[y & f].sum() / total) if total > 0 else math.nan


def episode_ids(
    cards: npt.ArrayLike, seconds: npt.ArrayLike, labels: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Episode number of each fraud row (-1 for legitimate rows): one card's frauds with
    gaps under three days form one episode."""
    import pandas as pd

    y = np.asarray(labels, dtype=bool)
    frame = pd.DataFrame(
        {"card": np.asarray(cards)[y], "t": np.asarray(seconds, dtype=np.float64)[y]}
    )
    frame["row"] = np.flatnonzero(y)
    frame = frame.sort_values(["card", "t"], kind="stable")
    new = (frame["card"] != frame["card"].shift()) | (frame["t"].diff() > EPISODE_GAP_SECONDS)
    out = np.full(len(y), -1, dtype=np.int64)
    out[frame["row"].to_numpy()] = np.cumsum(new.to_numpy()) - 1
    return out


def episode_recall(episodes: npt.ArrayLike, flagged: npt.ArrayLike) -> float:
    """Share of fraud episodes with at least one flagged transaction."""
    e = np.asarray(episodes)
    f = np.asarray(flagged, dtype=bool)
    ids = np.unique(e[e >= 0])
    if not len(ids):
        return math.nan
    caught = np.unique(e[(e >= 0) & f])
    return float(len(caught) / len(ids))


def first_of_episode(episodes: npt.ArrayLike, seconds: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Marks each episode's first transaction (the earliest; on a tie, the first row)."""
    e = np.asarray(episodes)
    t = np.asarray(seconds, dtype=np.float64)
    rows = np.flatnonzero(e >= 0)
    rows = rows[np.lexsort((rows, t[rows], e[rows]))]  # by episode, then time, then row
    first = np.zeros(len(e), dtype=bool)
    first[rows[np.concatenate(([True], e[rows][1:] != e[rows][:-1]))[: len(rows)]]] = True
    return first


def first_transaction_recall(
    episodes: npt.ArrayLike, seconds: npt.ArrayLike, flagged: npt.ArrayLike
) -> float:
    """Share of fraud episodes whose *first* transaction is flagged (earliest; ties: row order).

    The hardest case: before it the card's history says nothing unusual yet.
    """
    first = first_of_episode(episodes, seconds)
    return float(np.asarray(flagged, dtype=bool)[first].mean()) if first.any() else math.nan


def average_precision_after_first(
    labels: npt.ArrayLike, scores: npt.ArrayLike, episodes: npt.ArrayLike, seconds: npt.ArrayLike
) -> float:
    """Average precision with each episode's first transaction left out.

    What a model catches once an episode has begun; the gap to the full AP is what the first
    transactions cost.
    """
    keep = ~first_of_episode(episodes, seconds)
    return average_precision(np.asarray(labels)[keep], np.asarray(scores)[keep])


def small_amount_recall(
    labels: npt.ArrayLike, flagged: npt.ArrayLike, amounts: npt.ArrayLike,
    categories: npt.ArrayLike,
) -> float:  # fmt: skip
    """Recall on frauds smaller than the median legitimate amount of their own category.

    Frauds unusually *small* for their category escape amount-driven rules; a category with
    no legitimate row has no median, and its frauds are left out. NaN without such frauds.
    """
    y = np.asarray(labels, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    amount = np.asarray(amounts, dtype=np.float64)
    category = np.asarray(categories).astype(str)
    small = np.zeros(len(y), dtype=bool)
    for name in np.unique(category[y]):
        mine = category == name
        legit = amount[mine & ~y]
        if len(legit):
            small |= mine & y & (amount < np.median(legit))
    return float(f[small].mean()) if small.any() else math.nan
