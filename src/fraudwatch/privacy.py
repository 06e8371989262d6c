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

import numpy as np

log = logging.getLogger(__name__)

TOKEN_HEX_CHARS = 32
_MIN_KEY_BYTES = 16
#: What a PAN looks like in text: 12 to 19 digits, possibly split by spaces or dashes, or
#: 8 to 11 digits in a row (the shortest card numbers the contract accepts; unsplit, so that
#: dates such as ``2020-06-21 10`` are left alone).
_PAN_IN_TEXT = re.compile(r"(?<!\d)(?:(?:\d[ -]?){11,18}\d|\d{8,11})(?!\d)")


class PanKeyError(ValueError):
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
    """Replace anything that looks like a card number in free text by its masked form."""
    return _PAN_IN_TEXT.sub(lambda match: mask_pan(match.group(0)), text)


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


class PanRedactingFilter(logging.Filter):
    """Logging filter that masks card numbers in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message with PANs masked; never drops a record."""
        message = record.getMessage()
        redacted = redact_pans(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_pans(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
