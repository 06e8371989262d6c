"""The online engine: per-card state updated micro-batch by micro-batch, for serving.

For each micro-batch the engine gathers the retained recent events of the cards involved
(the *context*), appends the new rows, and runs the same kernel as the batch engine; the
new rows' running totals continue from each card's saved totals, so the result equals the
batch engine's on the whole history. State is bounded: events older than the longest
window are dropped (the newest is always kept, for "previous transaction" features), and
a card silent for longer than the card TTL is forgotten — the batch engine restarts such
a card the same way. Input must arrive in event-time order; a late event is treated as
happening at its card's latest time.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.features.definitions import (
    CARD_TTL_MS,
    DEFAULT_LABEL_DELAY_MS,
    FEATURE_NAMES,
    LONGEST_WINDOW_MS,
)
from fraudwatch.features.kernel import (
    BoolArray,
    CardRows,
    CardTotalsBefore,
    FloatArray,
    IntArray,
    cumsum_before,
    expanding_features,
    is_night,
    pace_features,
    previous_features,
    segment_starts,
    split_segments,
    window_features,
)
from fraudwatch.features.merchants import MerchantLabels
from fraudwatch.features.static import FeatureReference, category_codes, event_ms, static_features
from fraudwatch.frames import as_array
from fraudwatch.schema import CATEGORIES, LABEL_COLUMN, is_small

CARD_COLUMN = "card_token"
_FEATURE_INDEX = pd.Index(list(FEATURE_NAMES))
_SNAPSHOT_VERSION = 1
_N_CATEGORIES = len(CATEGORIES)
_NEVER = np.iinfo(np.int64).min // 2
#: One retained event of a card: what later window and "previous" features need.
EVENT_DTYPE = np.dtype(
    [("t_ms", "i8"), ("amount", "f8"), ("amount_before", "f8"), ("night_before", "f8"),
     ("merchant", "i8"), ("category", "i8"), ("merch_lat", "f8"), ("merch_long", "f8")]
)  # fmt: skip
#: The same fields in a fixed little-endian layout: how a card's events travel to a store.
_EVENT_WIRE = np.dtype(
    [(name, EVENT_DTYPE[name].newbyteorder("<")) for name in EVENT_DTYPE.names or ()]
)
_CARD_STATE_VERSION = b"\x01"
Batch = dict[str, np.ndarray]
#: The transaction columns the features read.
_INPUT_COLUMNS = (
    CARD_COLUMN, "event_time", "amt", "merchant", "category", "merch_lat", "merch_long",
    "lat", "long", "dob", "gender", "city_pop",
)  # fmt: skip


class OnlineFeatures:
    """Per-card (and per-merchant) state that turns each new micro-batch into features."""

    def __init__(
        self,
        reference: FeatureReference,
        *,
        label_delay_ms: int = DEFAULT_LABEL_DELAY_MS,
        card_ttl_ms: int = CARD_TTL_MS,
    ) -> None:
        self.reference = reference
        self.card_ttl_ms = card_ttl_ms
        self.merchants = MerchantLabels(label_delay_ms)
        self.clock_ms = _NEVER  # the stream clock: the newest event time folded in
        #: out-of-window event times pending against the stream clock (see
        #: fraudwatch.pipeline.event_clock): state, so that it survives a snapshot too
        self.clock_run: list[int] = []
        self._slots: dict[str, int] = {}
        self._free: list[int] = []
        self._recent: list[np.ndarray | None] = []
        self._totals = np.zeros((0, 4))  # per slot: count, sum, sum of squares, night count
        self._first_seen = np.zeros(0, dtype=np.int64)
        self._last_seen = np.zeros(0, dtype=np.int64)
        self._category_totals = np.zeros((0, _N_CATEGORIES, 2))  # per slot, category: n, sum

    @property
    def cards(self) -> int:
        """Cards currently held in state."""
        return len(self._slots)

    @property
    def stream_clock_ms(self) -> int | None:
        """The newest event time folded into the state (epoch ms), None before the first."""
        return None if self.clock_ms == _NEVER else self.clock_ms

    def set_stream_clock(self, clock_ms: int | None, run: Sequence[int]) -> None:
        """Set the stream clock and its pending run (the scoring service's judgement)."""
        self.clock_ms = _NEVER if clock_ms is None else int(clock_ms)
        self.clock_run = [int(event) for event in run]

    def retained_events(self) -> int:
        """Per-card events currently retained (bounded by the longest window)."""
        return sum(len(events) for events in self._recent if events is not None)

    def transform_many(
        self, transactions: pd.DataFrame | Mapping[str, Any], *, labelled: bool = False
    ) -> pd.DataFrame:
        """Features of a micro-batch (input row order), then fold the batch into the state.

        ``transactions``: a frame, or its columns as arrays (a small batch's fast form; the
        result is then indexed 0..n-1). ``labelled=True`` means the batch's ``is_fraud``
        values are known now (history replay): they feed merchant risk once older than the
        label delay. Live batches leave it False, and their labels — even if present — are
        ignored.
        """
        n = len(transactions["event_time"])
        index = transactions.index if isinstance(transactions, pd.DataFrame) else pd.RangeIndex(n)
        if n == 0:
            return pd.DataFrame({name: np.zeros(0) for name in FEATURE_NAMES}, index=index)
        # each column once (a frame's ``[]`` costs ~15 µs a call, ruinous on one row)
        columns = {name: transactions[name] for name in _INPUT_COLUMNS}
        slots = self._slots_for(as_array(columns[CARD_COLUMN], object))
        t_raw = event_ms(columns["event_time"])
        t_ms = np.maximum(t_raw, self._last_seen[slots])
        order = np.lexsort((np.arange(n), t_ms, slots))
        merchant = self.merchants.codes(columns["merchant"])
        batch: Batch = {
            "slot": slots[order],
            "t_ms": t_ms[order],
            "amount": as_array(columns["amt"], np.float64)[order],
            "merchant": merchant[order],
            "category": category_codes(columns["category"])[order],
            "merch_lat": as_array(columns["merch_lat"], np.float64)[order],
            "merch_long": as_array(columns["merch_long"], np.float64)[order],
        }
        features = self._card_features(batch)
        unsorted = np.empty(n, dtype=np.int64)
        unsorted[order] = np.arange(n)
        result = {name: values[unsorted] for name, values in features.items()}
        result.update(static_features(columns, self.reference))
        result.update(pace_features(result))
        if labelled and LABEL_COLUMN in transactions:
            labels = pd.to_numeric(pd.Series(transactions[LABEL_COLUMN]), errors="coerce")
            self.merchants.learn(
                merchant, t_raw, labels.to_numpy(dtype=np.float64, na_value=np.nan)
            )
        result["merchant_risk"] = self.merchants.risk(merchant, t_raw, self.reference.fraud_rate)
        self.clock_ms = max(self.clock_ms, int(t_ms.max()))
        # one float64 block built at once: a frame from 40 separate arrays costs ~0.3 ms
        matrix = np.column_stack([result[name] for name in FEATURE_NAMES]).astype(np.float64)
        return pd.DataFrame(matrix, columns=_FEATURE_INDEX, index=index, copy=False)

    def transform_one(self, transaction: pd.DataFrame) -> pd.DataFrame:
        """Features of a single transaction (a one-row frame); the state moves on."""
        return self.transform_many(transaction)

    def learn_labels_many(
        self, merchants: pd.Series, event_times: pd.Series, labels: pd.Series
    ) -> None:
        """Delayed labels (e.g. analyst verdicts): they count once older than the delay."""
        codes = self.merchants.codes(merchants)
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        self.merchants.learn(codes, event_ms(event_times), values)

    def expire(self, now_ms: int | None = None) -> int:
        """Forget cards silent for longer than the card TTL; return how many were dropped."""
        now = self.clock_ms if now_ms is None else now_ms
        stale = [
            token
            for token, slot in self._slots.items()
            if now - self._last_seen[slot] > self.card_ttl_ms
        ]
        for token in stale:
            slot = self._slots.pop(token)
            self._recent[slot] = None
            self._free.append(slot)
        return len(stale)

    def snapshot(self) -> bytes:
        """The whole state as bytes (pickle: restore only snapshots you wrote yourself)."""
        state = {key: value for key, value in vars(self).items() if key != "reference"}
        return pickle.dumps({"version": _SNAPSHOT_VERSION, "state": state}, protocol=5)

    @classmethod
    def restore(cls, snapshot: bytes, reference: FeatureReference) -> OnlineFeatures:
        """Rebuild an engine from :meth:`snapshot` bytes and the model's reference."""
        payload: dict[str, Any] = pickle.loads(snapshot)  # our own snapshot, never user input
        if payload.get("version") != _SNAPSHOT_VERSION:
            raise ValueError(f"unsupported feature-state snapshot version {payload.get('version')}")
        engine = cls(reference)
        vars(engine).update(payload["state"])
        return engine

    # -- one card's state as bytes (for a shared store) ----------------------------------

    def export_cards(self, tokens: Sequence[str]) -> list[bytes | None]:
        """Each card's state as bytes, in order (None for a card not held)."""
        states: list[bytes | None] = []
        for token in tokens:
            slot = self._slots.get(token)
            events = None if slot is None else self._recent[slot]
            if slot is None or events is None:
                states.append(None)
                continue
            header = np.array([self._first_seen[slot], self._last_seen[slot]], dtype="<i8")
            states.append(
                _CARD_STATE_VERSION
                + header.tobytes()
                + self._totals[slot].astype("<f8").tobytes()
                + self._category_totals[slot].astype("<f8").tobytes()
                + self._wire_events(events).tobytes()
            )
        return states

    def import_cards(self, states: Mapping[str, bytes | None]) -> None:
        """Replace the held state of these cards with :meth:`export_cards` bytes (None: forget)."""
        self.forget_cards([token for token, state in states.items() if state is None])
        for token, state in states.items():
            if state is None:
                continue
            if state[:1] != _CARD_STATE_VERSION:
                raise ValueError(f"unsupported card-state version {state[:1]!r}")
            header = np.frombuffer(state, dtype="<i8", count=2, offset=1)
            totals = np.frombuffer(state, dtype="<f8", count=4, offset=17)
            width = _N_CATEGORIES * 2
            categories = np.frombuffer(state, dtype="<f8", count=width, offset=49)
            events = np.frombuffer(state, dtype=_EVENT_WIRE, offset=49 + 8 * width)
            slot = self._slots.get(token)
            if slot is None:
                slot = self._slots[token] = self._new_slot()
            self._first_seen[slot], self._last_seen[slot] = int(header[0]), int(header[1])
            self._totals[slot] = totals
            self._category_totals[slot] = categories.reshape(_N_CATEGORIES, 2)
            local = events.astype(EVENT_DTYPE)
            local["merchant"] = self.merchants.codes_of_keys(events["merchant"])
            self._recent[slot] = local
            self.clock_ms = max(self.clock_ms, int(header[1]))

    def _wire_events(self, events: np.ndarray) -> np.ndarray:
        """Events in the wire layout, merchants as stable keys instead of local codes."""
        wire = events.astype(_EVENT_WIRE)
        wire["merchant"] = self.merchants.keys_of(events["merchant"])
        return wire

    def forget_cards(self, tokens: Sequence[str]) -> None:
        """Drop these cards from the held state (their next event starts a new history)."""
        for token in tokens:
            slot = self._slots.pop(token, None)
            if slot is not None:
                self._recent[slot] = None
                self._free.append(slot)

    # -- card slots --------------------------------------------------------------------

    def _slots_for(self, tokens: np.ndarray) -> IntArray:
        if is_small(len(tokens)):  # same slots, without factorize's overhead
            slots = np.empty(len(tokens), dtype=np.int64)
            for number, token in enumerate(tokens.tolist()):
                slot = self._slots.get(token)
                if slot is None:
                    slot = self._slots[token] = self._new_slot()
                slots[number] = slot
            return slots
        inverse, unique = pd.factorize(tokens)
        slots = np.empty(len(unique), dtype=np.int64)
        for number, token in enumerate(unique.tolist()):
            slot = self._slots.get(token)
            if slot is None:
                slot = self._slots[token] = self._new_slot()
            slots[number] = slot
        return slots[inverse]

    def _new_slot(self) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._recent)
            self._recent.append(None)
            if slot >= len(self._last_seen):
                self._grow(max(64, 2 * len(self._last_seen)))
        self._totals[slot] = 0.0
        self._category_totals[slot] = 0.0
        self._first_seen[slot] = 0
        self._last_seen[slot] = _NEVER
        return slot

    def _grow(self, size: int) -> None:
        extra = size - len(self._last_seen)
        self._totals = np.concatenate((self._totals, np.zeros((extra, 4))))
        self._first_seen = np.concatenate((self._first_seen, np.zeros(extra, dtype=np.int64)))
        self._last_seen = np.concatenate((self._last_seen, np.full(extra, _NEVER, dtype=np.int64)))
        self._category_totals = np.concatenate(
            (self._category_totals, np.zeros((extra, _N_CATEGORIES, 2)))
        )

    # -- features and state ------------------------------------------------------------

    def _card_features(self, batch: Batch) -> dict[str, FloatArray]:
        """Window, previous and expanding features of the sorted batch rows; saves state."""
        slots, t_ms, amount = batch["slot"], batch["t_ms"], batch["amount"]
        card_starts = segment_starts(slots)
        card_first, card_last = card_starts[:-1], card_starts[1:] - 1
        card_slots = slots[card_first]
        # a card continues its saved segment unless it is new or was silent beyond the TTL
        saved = np.array(
            [self._recent[slot] is not None for slot in card_slots.tolist()], dtype=bool
        )
        continues = saved & (t_ms[card_first] - self._last_seen[card_slots] <= self.card_ttl_ms)

        segment = split_segments(slots, t_ms, self.card_ttl_ms)
        seg_starts = segment_starts(segment)
        seg_first, seg_sizes = seg_starts[:-1], np.diff(seg_starts)
        carries = np.zeros(len(seg_first), dtype=bool)  # the segment continues a saved state
        carries[np.searchsorted(seg_first, card_first[continues])] = True
        seg_slots = slots[seg_first]

        night = is_night(t_ms).astype(np.float64)
        values = np.column_stack((amount, amount * amount, night))
        bases = np.where(carries[:, None], self._totals[seg_slots, 1:], 0.0)
        running = cumsum_before(values, seg_starts, bases)
        counts = np.where(carries, self._totals[seg_slots, 0], 0.0)
        first_seen = np.where(carries, self._first_seen[seg_slots], t_ms[seg_first])
        category_count, category_sum = self._categories(batch, segment, seg_slots, carries)
        totals = CardTotalsBefore(
            count=np.repeat(counts, seg_sizes)
            + (np.arange(len(slots)) - np.repeat(seg_first, seg_sizes)),
            amount_sum=running[:, 0],
            amount_sumsq=running[:, 1],
            night_count=running[:, 2],
            first_seen_ms=np.repeat(first_seen, seg_sizes),
            category_count=category_count,
            category_sum=category_sum,
        )
        context = [
            self._recent[s] if go else None
            for s, go in zip(card_slots.tolist(), continues, strict=True)
        ]
        rows, query = _with_context(batch, running, context, card_starts, self.card_ttl_ms)
        features = window_features(rows, query)
        features.update(previous_features(rows, query))
        features.update(expanding_features(amount, t_ms, totals))

        last_slots = slots[card_last]  # the state after the batch: each card's last row
        self._totals[last_slots, 0] = totals.count[card_last] + 1
        self._totals[last_slots, 1:] = running[card_last] + values[card_last]
        self._first_seen[last_slots] = totals.first_seen_ms[card_last]
        self._last_seen[last_slots] = t_ms[card_last]
        self._retain(rows, query[card_last], last_slots)
        return features

    def _categories(
        self, batch: Batch, segment: IntArray, seg_slots: IntArray, carries: BoolArray
    ) -> tuple[FloatArray, FloatArray]:
        """Count and sum of the card's earlier amounts in each row's category; saves state."""
        n = len(segment)
        category = batch["category"]
        order = np.lexsort((np.arange(n), category, segment))
        starts = segment_starts(segment[order] * 64 + category[order])
        group_segment = segment[order[starts[:-1]]]
        group_category = category[order[starts[:-1]]]
        group_slot = seg_slots[group_segment]
        saved = self._category_totals[group_slot, group_category]
        bases = np.where(carries[group_segment][:, None], saved, 0.0)
        values = np.column_stack((np.ones(n), batch["amount"][order]))
        before = cumsum_before(values, starts, bases)
        count, total = np.empty(n), np.empty(n)
        count[order], total[order] = before[:, 0], before[:, 1]

        # a card's saved totals come from its last segment; a restarted card drops the rest
        last_segment = np.zeros(len(self._last_seen), dtype=np.int64)
        last_segment[seg_slots] = np.arange(len(seg_slots))  # later segments overwrite
        restarted = ~carries | (last_segment[seg_slots] != np.arange(len(seg_slots)))
        self._category_totals[seg_slots[restarted]] = 0.0
        final = last_segment[group_slot] == group_segment
        after = (before + values)[starts[1:] - 1]
        self._category_totals[group_slot[final], group_category[final]] = after[final]
        return count, total

    def _retain(self, rows: CardRows, last_rows: IntArray, last_slots: IntArray) -> None:
        """Keep each card's events inside the longest window (and always its newest one)."""
        seg_first = segment_starts(rows.segment)[:-1][rows.segment[last_rows]]
        horizons = rows.t_ms[last_rows] - LONGEST_WINDOW_MS
        columns = {name: getattr(rows, name) for name in EVENT_DTYPE.names or ()}
        for first, last, horizon, slot in zip(
            seg_first.tolist(),
            last_rows.tolist(),
            horizons.tolist(),
            last_slots.tolist(),
            strict=True,
        ):
            keep = first + int(np.searchsorted(rows.t_ms[first : last + 1], horizon, side="right"))
            keep = min(keep, last)
            events = np.empty(last + 1 - keep, dtype=EVENT_DTYPE)
            for name, column in columns.items():
                events[name] = column[keep : last + 1]
            self._recent[slot] = events


def _with_context(
    batch: Batch,
    running: FloatArray,
    context: list[np.ndarray | None],
    card_starts: IntArray,
    ttl_ms: int,
) -> tuple[CardRows, IntArray]:
    """Each card's retained events followed by its new rows, and where the new rows went."""
    new_sizes = np.diff(card_starts)
    context_sizes = np.array([0 if c is None else len(c) for c in context], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(new_sizes + context_sizes)))[:-1]
    cards = np.arange(len(new_sizes))
    query = np.repeat(offsets + context_sizes, new_sizes) + (
        np.arange(len(batch["slot"])) - np.repeat(card_starts[:-1], new_sizes)
    )
    total = int(new_sizes.sum() + context_sizes.sum())
    present = [c for c in context if c is not None and len(c)]
    old = np.concatenate(present) if present else np.empty(0, dtype=EVENT_DTYPE)
    old_at = np.repeat(offsets, context_sizes) + (
        np.arange(len(old)) - np.repeat(np.cumsum(context_sizes) - context_sizes, context_sizes)
    )
    new_columns = {**batch, "amount_before": running[:, 0], "night_before": running[:, 2]}
    columns: dict[str, np.ndarray] = {}
    for name in EVENT_DTYPE.names or ():
        column = np.empty(total, dtype=EVENT_DTYPE[name])
        column[old_at] = old[name]
        column[query] = new_columns[name]
        columns[name] = column
    card_of_row = np.repeat(cards, new_sizes + context_sizes)
    segment = split_segments(card_of_row, columns["t_ms"], ttl_ms)
    return CardRows(segment=segment, **columns), query
