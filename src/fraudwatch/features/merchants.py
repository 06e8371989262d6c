"""Merchant risk for the online engine: labels become usable only once older than the delay.

Labels wait in a per-merchant pending list (sorted by event time) until every future query
is at least the label delay after them; they are then folded into per-merchant totals, so
memory holds only the last ``delay`` worth of labels.
"""

from __future__ import annotations

import hashlib
import heapq

import numpy as np
import pandas as pd

from fraudwatch.features.kernel import FloatArray, IntArray, merchant_risk
from fraudwatch.schema import is_small


class MerchantLabels:
    """Per-merchant matured label totals plus the labels still inside the delay."""

    def __init__(self, label_delay_ms: int) -> None:
        self.label_delay_ms = label_delay_ms
        self._codes: dict[str, int] = {}
        #: each code's stable key (a hash of the name, the same in every process) and back:
        #: card states shared between processes carry keys, not this process's codes
        self._keys = np.zeros(0, dtype=np.int64)
        self._by_key: dict[int, int] = {}
        self._frauds = np.zeros(0)
        self._labelled = np.zeros(0)
        self._pending: dict[int, tuple[IntArray, FloatArray]] = {}
        #: (earliest pending time, merchant) — may hold stale entries; finds what matures
        #: without visiting every merchant with pending labels on every query
        self._due: list[tuple[int, int]] = []
        self._horizon_ms = np.iinfo(np.int64).min // 2

    def codes(self, merchants: pd.Series) -> IntArray:
        """Stable integer codes of merchant names (new names get new codes)."""
        if is_small(len(merchants)):  # same codes, without factorize's overhead
            inverse, names = None, [str(name) for name in merchants.tolist()]
        else:
            inverse, unique = pd.factorize(merchants.astype(str))
            names = unique.tolist()
        codes = np.empty(len(names), dtype=np.int64)
        for number, name in enumerate(names):
            code = self._codes.get(name)
            if code is None:
                code = self._codes[name] = self._code_of_key(stable_key(name))
            codes[number] = code
        return codes if inverse is None else codes[inverse]

    def keys_of(self, codes: IntArray) -> IntArray:
        """The stable keys of codes (the same merchant has the same key in every process)."""
        return self._keys[codes]

    def codes_of_keys(self, keys: IntArray) -> IntArray:
        """This process's codes of stable keys (a merchant not seen here yet gets a code)."""
        return np.array([self._code_of_key(key) for key in keys.tolist()], dtype=np.int64)

    def _code_of_key(self, key: int) -> int:
        code = self._by_key.get(key)
        if code is None:
            code = self._by_key[key] = len(self._by_key)
            if code >= len(self._keys):
                extra = max(64, len(self._keys))
                self._keys = np.concatenate((self._keys, np.zeros(extra, dtype=np.int64)))
                self._frauds = np.concatenate((self._frauds, np.zeros(extra)))
                self._labelled = np.concatenate((self._labelled, np.zeros(extra)))
            self._keys[code] = key
        return code

    def learn(self, merchants: IntArray, t_ms: IntArray, labels: FloatArray) -> None:
        """Record labelled events; each counts for queries at least the delay after it."""
        known = ~np.isnan(labels)
        merchants, t_ms, labels = merchants[known], t_ms[known], labels[known]
        matured = t_ms < self._horizon_ms
        np.add.at(self._frauds, merchants[matured], labels[matured])
        np.add.at(self._labelled, merchants[matured], 1.0)
        merchants, t_ms, labels = merchants[~matured], t_ms[~matured], labels[~matured]
        for code in np.unique(merchants):
            mine = merchants == code
            old_t, old_labels = self._pending.get(int(code), (np.zeros(0, np.int64), np.zeros(0)))
            times = np.concatenate((old_t, t_ms[mine]))
            values = np.concatenate((old_labels, labels[mine]))
            order = np.argsort(times, kind="stable")
            self._pending[int(code)] = (times[order], values[order])
            heapq.heappush(self._due, (int(times[order[0]]), int(code)))

    def risk(self, merchants: IntArray, t_ms: IntArray, prior: float) -> FloatArray:
        """Smoothed fraud rate of each row's merchant from labels older than the delay."""
        if len(t_ms):
            self._mature(int(t_ms.min()) - self.label_delay_ms)
        frauds = self._frauds[merchants].copy()
        labelled = self._labelled[merchants].copy()
        cutoff = t_ms - self.label_delay_ms
        for code in np.unique(merchants):
            pending = self._pending.get(int(code))
            if pending is None:
                continue
            mine = merchants == code
            upto = np.searchsorted(pending[0], cutoff[mine], side="left")
            frauds[mine] += np.concatenate(([0.0], np.cumsum(pending[1])))[upto]
            labelled[mine] += upto
        return merchant_risk(frauds, labelled, prior)

    def _mature(self, horizon_ms: int) -> None:
        """Fold pending labels older than ``horizon_ms`` into the totals (queries only move on)."""
        if horizon_ms <= self._horizon_ms:
            return
        self._horizon_ms = horizon_ms
        due = self._due
        while due and due[0][0] < horizon_ms:
            code = heapq.heappop(due)[1]
            pending = self._pending.get(code)
            if pending is None:  # a stale entry: already matured
                continue
            times, values = pending
            split = int(np.searchsorted(times, horizon_ms, side="left"))
            if not split:  # a stale entry: the merchant's current one is still queued
                continue
            self._frauds[code] += values[:split].sum()
            self._labelled[code] += split
            if split == len(times):
                del self._pending[code]
            else:
                self._pending[code] = (times[split:], values[split:])
                heapq.heappush(due, (int(times[split]), code))

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore a pickled state (snapshots from before the due queue existed included)."""
        self.__dict__.update(state)
        if "_by_key" not in state:  # snapshots from before stable keys: key the known codes
            self._by_key = {}
            self._keys = np.zeros(len(self._frauds), dtype=np.int64)
            for name, code in sorted(self._codes.items(), key=lambda item: item[1]):
                self._by_key[stable_key(name)] = code
                self._keys[code] = stable_key(name)
        if "_due" not in state:
            self._due = [(int(times[0]), code) for code, (times, _) in self._pending.items()]
            heapq.heapify(self._due)


def stable_key(name: str) -> int:
    """A 64-bit key of a merchant name, the same in every process (BLAKE2b)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
