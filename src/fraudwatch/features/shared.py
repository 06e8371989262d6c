"""Per-card feature state in Redis, so several processes score with one card history.

With ``FRAUDWATCH_REDIS_URL`` set, the scoring API and the streaming pipeline (any number
of each) keep each card's state — running totals, per-category totals and the events of
the longest window — in one Redis hash per card instead of in their own memory. A
micro-batch then runs as an optimistic transaction:

1. read the state and version of the batch's cards (one round trip);
2. load them into the process's engine and compute the features there, as in-process;
3. write the new states back with a Lua script that first checks every version is
   unchanged (one round trip); if another process moved one of these cards meanwhile,
   nothing is written and the batch is computed again from the fresh state.

So each card's history is the sequence of its committed transactions, whichever process
scored them, and the features equal those of one in-process engine fed the same sequence.
Keys expire after the card TTL of wall-clock time without a write (memory stays bounded).
The per-merchant label totals stay in each process: they move only with labelled history.
The stream clock that event times are judged against is shared too (one more key).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from fraudwatch.errors import FraudwatchError
from fraudwatch.features.definitions import CARD_TTL_MS

if TYPE_CHECKING:
    from fraudwatch.features.online import OnlineFeatures

log = logging.getLogger(__name__)

#: Key prefix; the suffix ``v1`` is the card-state layout (bump it when the layout changes).
DEFAULT_NAMESPACE = "fraudwatch:card:v1:"

# KEYS: the cards' hashes. ARGV: n expected versions, n states, then the TTL in ms.
# Writes every state (version + 1) only if no version moved; returns 1, else 0.
_COMMIT = """
local n = #KEYS
for i = 1, n do
  local current = redis.call('HGET', KEYS[i], 'v') or '0'
  if current ~= ARGV[i] then return 0 end
end
local ttl = ARGV[2 * n + 1]
for i = 1, n do
  redis.call('HSET', KEYS[i], 'v', tostring(tonumber(ARGV[i]) + 1), 's', ARGV[n + i])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
"""


# KEYS: the clock's key. ARGV: the new clock (epoch ms), "1" to set it even if earlier (a
# re-anchor to the past), the TTL in ms. The clock only moves forward otherwise.
_SET_CLOCK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '')
local new = tonumber(ARGV[1])
if ARGV[2] == '1' or current == nil or new > current then
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
#: Key suffix of the shared stream clock (beside the cards, under the same namespace).
CLOCK_KEY = "stream-clock"


class SharedStateConflictError(FraudwatchError, RuntimeError):
    """A batch's cards kept being moved by other processes; it was not scored."""


class RedisCardState:
    """Card state shared through Redis: :meth:`transform_many` wraps the engine's."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl_ms: int = CARD_TTL_MS,
        attempts: int = 100,
        client: Any = None,
    ) -> None:
        import redis

        self.client = client or redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        self.namespace = namespace
        self.ttl_ms = ttl_ms
        self.attempts = attempts
        self.conflicts = 0
        self._commit = self.client.register_script(_COMMIT)
        self._set_clock = self.client.register_script(_SET_CLOCK)

    def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(self.client.ping())

    def transform_many(
        self, engine: OnlineFeatures, transactions: pd.DataFrame | Mapping[str, Any]
    ) -> pd.DataFrame:
        """The engine's features of a micro-batch, on (and then into) the shared card state."""
        if not len(transactions["card_token"]):
            return engine.transform_many(transactions)
        tokens = list(dict.fromkeys(transactions["card_token"].tolist()))
        keys = [self.namespace + token for token in tokens]
        for _ in range(self.attempts):
            versions, states = self._read(keys)
            engine.import_cards(dict(zip(tokens, states, strict=True)))
            features = engine.transform_many(transactions)
            updated = [state or b"" for state in engine.export_cards(tokens)]  # all held now
            written = self._commit(keys=keys, args=[*versions, *updated, self.ttl_ms])
            engine.forget_cards(tokens)  # Redis holds them; the engine is only a scratchpad
            if written == 1:
                return features
            self.conflicts += 1
        raise SharedStateConflictError(
            f"{len(tokens)} card(s) changed under this batch {self.attempts} times in a row"
        )

    def read_clock(self) -> int | None:
        """The stream clock every process shares (epoch ms), None when not set (or expired).

        It is the newest event time accepted by any process (see
        :mod:`fraudwatch.pipeline.event_clock`); like the cards, it expires after the card
        TTL without a write. The run of out-of-window records that may move it is counted
        by each process on its own.
        """
        value = self.client.get(self.namespace + CLOCK_KEY)
        return None if value is None else int(value)

    def write_clock(self, clock_ms: int | None, *, moved_back: bool = False) -> None:
        """Move the shared clock to ``clock_ms`` if later (or earlier, when ``moved_back``)."""
        if clock_ms is not None:
            keys = [self.namespace + CLOCK_KEY]
            self._set_clock(keys=keys, args=[int(clock_ms), int(moved_back), self.ttl_ms])

    def clear(self) -> int:
        """Delete every card state under this namespace; return how many (tests, resets)."""
        deleted = 0
        for chunk in _chunks(list(self.client.scan_iter(match=self.namespace + "*", count=1000))):
            deleted += int(self.client.delete(*chunk))
        return deleted

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()

    def _read(self, keys: Sequence[str]) -> tuple[list[bytes], list[bytes | None]]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "v", "s")
        versions, states = [], []
        for version, state in pipe.execute():
            versions.append(version or b"0")
            states.append(state)
        return versions, states


def _chunks(items: list[Any], size: int = 1000) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
