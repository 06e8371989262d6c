"""The one retry policy of fraudwatch: capped exponential backoff with jitter, on tenacity.

The database, the feed client and the scoring-API client all meet failures that a second
attempt can cure (a Neon compute waking up, a feed server restarting, a 503). They used to
carry three hand-written loops with three jitter rules, one without a cap and one that
logged a server's error text unmasked. Now each calls :func:`retry_call`, which waits

    min(max_delay, base_delay * 2 ** (n - 1) * U(0.5, 1.5))

before retry ``n`` (random factor: processes that failed together do not retry together;
hard cap: a long outage never means minute-long sleeps), and logs each retry at WARNING
with the error text masked by :func:`fraudwatch.privacy.redact_pans` (an error body may
echo a card number). The caller chooses what is worth retrying and how long to try: a
number of attempts, optionally a total time. The last failure propagates unchanged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from fraudwatch.privacy import redact_pans

T = TypeVar("T")

__all__ = ["DEFAULT_MAX_DELAY", "backoff_delay", "error_text", "retry_call"]

#: Longest wait between two attempts unless the caller picks another cap.
DEFAULT_MAX_DELAY = 30.0
#: Characters of an error text kept in a retry warning (masked first: a cut PAN is not seen).
_TEXT_CHARS = 300


def backoff_delay(attempt: int, base_delay: float, max_delay: float) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): the policy's one rule."""
    exponential = base_delay * 2.0 ** (attempt - 1)
    return min(max_delay, exponential * random.uniform(0.5, 1.5))


def error_text(error: BaseException) -> str:
    """``Type: first line of the message`` (drivers append SQL and parameters below it)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class _Backoff(tenacity.wait.wait_base):
    """:func:`backoff_delay` as a tenacity wait strategy."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self.base_delay, self.max_delay = base_delay, max_delay

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return backoff_delay(retry_state.attempt_number, self.base_delay, self.max_delay)


def retry_call(
    fn: Callable[[], T],
    *,
    retry_if: Callable[[BaseException], bool],
    what: str,
    logger: logging.Logger,
    attempts: int,
    base_delay: float,
    max_delay: float = DEFAULT_MAX_DELAY,
    give_up_after: float | None = None,
    describe: Callable[[BaseException], str] = error_text,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; while it raises an error ``retry_if`` accepts, wait and call it again.

    ``fn`` must be safe to repeat (one transaction, one idempotent request). It is called
    at most ``attempts`` times, and no wait starts that would end more than
    ``give_up_after`` seconds after the first call. Each retry logs ``<what> failed
    (attempt n of N, retrying in s): <describe(error)>`` to ``logger``, the text masked;
    ``sleep`` may raise to abandon the wait (a stop event), and that error propagates.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if base_delay < 0 or max_delay < 0:
        raise ValueError("base_delay and max_delay must be >= 0")

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        text = redact_pans(describe(error))[:_TEXT_CHARS] if error is not None else ""
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s failed (attempt %d of %d, retrying in %.2f s): %s",
            what,
            state.attempt_number,
            attempts,
            delay,
            text,
        )

    stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(attempts)
    if give_up_after is not None:
        stop = stop | tenacity.stop_before_delay(give_up_after)
    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=stop,
        wait=_Backoff(base_delay, max_delay),
        retry=tenacity.retry_if_exception(retry_if),
        before_sleep=log_retry,
        reraise=True,
    )
    return retrying(fn)
