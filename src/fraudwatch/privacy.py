"""Card numbers (PANs) never leave this module in clear: a keyed token for joins, a mask for people.

``card_token`` is HMAC-SHA256(key, PAN) truncated to 128 bits (32 hex characters): stable for
a key, so per-card history joins work, and useless without the key. ``mask_pan`` keeps at
most the first 6 and last 4 digits (PCI DSS display rule), fewer for short numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fraudwatch.errors import FraudwatchError

if TYPE_CHECKING:
    from fraudwatch.config import Settings

log = logging.getLogger(__name__)

TOKEN_HEX_CHARS = 32
_MIN_KEY_BYTES = 16
#: What a PAN looks like in text: 12 to 19 digits, possibly split by spaces or dashes, or
#: 8 to 11 digits in a row (the shortest card numbers the contract accepts; unsplit, so that
#: dates such as ``2020-06-21 10`` are left alone).
_PAN_IN_TEXT = re.compile(r"(?<!\d)(?:(?:\d[ -]?){11,18}\d|\d{8,11})(?!\d)")
#: Digit groups (one space or dash between them) that no letter, digit or underscore is
#: glued to, directly or by a dot or dash: the candidates for a card number in a log line.
#: A run inside a longer identifier (``fw-20261202T084901-22661234``, a hex trans_num,
#: ``v1.20261202``) is none.
_DIGITS_IN_LOG = re.compile(
    r"(?<![A-Za-z0-9_])(?<![A-Za-z0-9_][.-])"
    r"[0-9]+(?:[ -][0-9]+)*"
    r"(?![A-Za-z0-9_])(?![.-][A-Za-z_])(?!\.[0-9])"
)
_GROUP = re.compile(r"[0-9]+")
#: Shortest digit group of a card number written in groups (4-4-4-4, 4-6-5, 4-6-4, ...);
#: so dates (2020-06-21) and times are never read as one.
_MIN_GROUP_DIGITS = 3


class PanKeyError(FraudwatchError, ValueError):
    """The PAN key is missing, too short or unreadable."""


def card_token(pan: str, key: bytes) -> str:
    """Keyed, stable, irreversible token of a card number (HMAC-SHA256, 128 bits, hex)."""
    digest = hmac.new(key, pan.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    return digest[:TOKEN_HEX_CHARS]


def card_tokens(pans: Iterable[str], key: bytes) -> np.ndarray:
    """Tokens of many card numbers; each distinct PAN is hashed once."""
    seen: dict[str, str] = {}
    tokens = []
    for pan in pans:
        token = seen.get(pan)
        if token is None:
            token = seen[pan] = card_token(pan, key)
        tokens.append(token)
    return np.array(tokens, dtype=object)


def mask_pan(pan: str) -> str:
    """Display form of a card number: at most first 6 and last 4 digits, the rest as ``*``."""
    digits = "".join(ch for ch in str(pan) if ch.isdigit())
    n = len(digits)
    if n >= 15:
        head, tail = 6, 4
    elif n >= 13:
        head, tail = 4, 4
    elif n >= 8:
        head, tail = 0, 4
    else:
        head, tail = 0, 0
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail :] if n else "*"


def redact_pans(text: str) -> str:
    """Replace anything that looks like a card number in free text by its masked form.

    No Luhn check: for raw records and error texts (dead letters, API and feed errors), where
    a mistyped card number is as sensitive as a valid one. Logs use the narrower
    :func:`redact_card_numbers`.
    """
    return _PAN_IN_TEXT.sub(lambda match: mask_pan(match.group(0)), text)


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check that every issued card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_card_groups(match: re.Match[str]) -> str:
    """Mask, left to right, the longest runs of whole groups that form a Luhn-valid PAN."""
    text, groups = match.group(0), list(_GROUP.finditer(match.group(0)))
    pieces, done, first = [], 0, 0
    while first < len(groups):
        for last in range(len(groups) - 1, first - 1, -1):
            span = groups[first : last + 1]
            digits = "".join(group.group(0) for group in span)
            if (
                8 <= len(digits) <= 19
                and (len(span) == 1 or all(len(g.group(0)) >= _MIN_GROUP_DIGITS for g in span))
                and luhn_valid(digits)
            ):
                start, end = span[0].start(), span[-1].end()
                pieces += [text[done:start], mask_pan(text[start:end])]
                done, first = end, last + 1
                break
        else:
            first += 1
    return "".join([*pieces, text[done:]])


def redact_card_numbers(text: str) -> str:
    """Mask the card numbers in a log line: Luhn-valid runs of 8 to 19 digits, standing alone.

    Narrower than :func:`redact_pans` on purpose: log lines are full of model versions,
    dates, trans_nums and counts that :func:`redact_pans` would garble, while every issued
    card number passes the Luhn check. The price: a PAN with a typo (not Luhn-valid) stays
    readable in a log. Dead letters and error texts, which hold raw records, keep the
    stricter :func:`redact_pans`.
    """
    return _DIGITS_IN_LOG.sub(_mask_card_groups, text)


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    """The PAN key: the configured one, else the one in ``key_file``, else a new random one."""
    if configured:
        key = configured.encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise PanKeyError(
                f"FRAUDWATCH_PAN_KEY is too short ({len(key)} bytes); use at least "
                f"{_MIN_KEY_BYTES}, e.g. the output of `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`"
            )
        return key
    if key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip().encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise PanKeyError(f"PAN key file {key_file} is empty or too short; delete it or fix it")
        return key
    key_file.parent.mkdir(parents=True, exist_ok=True)
    new_key = secrets.token_hex(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(new_key + "\n")
    log.warning(
        "FRAUDWATCH_PAN_KEY is not set: generated a random PAN key into %s. Card tokens "
        "depend on it; keep it (and back it up) or set FRAUDWATCH_PAN_KEY in production.",
        key_file,
    )
    return new_key.encode("utf-8")


def pan_key_from_settings(settings: Settings) -> bytes:
    """The PAN key of these settings: ``FRAUDWATCH_PAN_KEY``, else ``<data_dir>/pan.key``.

    The one place that reads the key from the settings, so the CLI, the API and the DAG
    tasks always tokenize with the same key (made once into the data folder when unset).
    """
    secret = settings.pan_key.get_secret_value() if settings.pan_key else None
    return load_or_create_key(secret, settings.pan_key_file)


class PanRedactingFilter(logging.Filter):
    """Logging filter that masks card numbers in every record's final message and traceback.

    It uses :func:`redact_card_numbers` (Luhn-valid, standalone digit runs), so that model
    versions, dates and trans_nums stay readable in the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message with PANs masked; never drops a record."""
        message = record.getMessage()
        redacted = redact_card_numbers(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_card_numbers(trace)
            record.exc_info = None
        return True
