"""Card numbers: keyed tokens for joins, masks for people, never a PAN in a log line."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudwatch.log import configure_logging
from fraudwatch.privacy import (
    PanKeyError,
    card_token,
    card_tokens,
    load_or_create_key,
    mask_pan,
    redact_pans,
)

PAN = "4992346398065154184"
PANS = st.text(alphabet="0123456789", min_size=12, max_size=19)


def test_token_is_stable_for_a_key(pan_key: bytes) -> None:
    assert card_token(PAN, pan_key) == card_token(PAN, pan_key)
    assert len(card_token(PAN, pan_key)) == 32
    assert PAN not in card_token(PAN, pan_key)


@given(pan=PANS)
def test_token_differs_across_keys(pan: str) -> None:
    assert card_token(pan, b"key-one-0123456789") != card_token(pan, b"key-two-0123456789")


@given(first=PANS, second=PANS)
def test_distinct_cards_get_distinct_tokens(first: str, second: str) -> None:
    if first != second:
        assert card_token(first, b"k" * 32) != card_token(second, b"k" * 32)


def test_batch_tokens_equal_single_tokens(pan_key: bytes) -> None:
    pans = [PAN, "4111111111111111", PAN]
    assert list(card_tokens(pans, pan_key)) == [card_token(p, pan_key) for p in pans]


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        ("4111111111111111", "411111******1111"),
        ("4992346398065154184", "499234*********4184"),
        ("378282246310005", "378282*****0005"),
        ("60416207185", "*******7185"),
        ("4222222222222", "4222*****2222"),
        ("1234567", "*******"),
    ],
)
def test_mask_shows_at_most_first_six_and_last_four(pan: str, masked: str) -> None:
    assert mask_pan(pan) == masked


@given(pan=PANS)
def test_mask_never_reveals_more_than_ten_digits(pan: str) -> None:
    masked = mask_pan(pan)
    assert len(masked) == len(pan)
    assert sum(ch.isdigit() for ch in masked) <= min(10, len(pan) - 5)
    assert masked != pan


def test_redact_finds_pans_in_free_text() -> None:
    text = f"card {PAN} and 4111 1111 1111 1111 and 4111-1111-1111-1111 but amount 1234.56"
    redacted = redact_pans(text)
    assert PAN not in redacted and "4111 1111 1111 1111" not in redacted
    assert "4111-1111-1111-1111" not in redacted
    assert "amount 1234.56" in redacted


def test_redact_finds_the_shortest_card_numbers_but_leaves_dates_alone() -> None:
    # the contract accepts 8- to 19-digit card numbers; the Kaggle files hold 11-digit ones
    text = "paid with 60416207185 (and 30270432) on 2020-06-21 10:00:18, zip 12345, $1234.56"
    redacted = redact_pans(text)
    assert "60416207185" not in redacted and "30270432" not in redacted
    assert "*******7185" in redacted
    assert "on 2020-06-21 10:00:18, zip 12345, $1234.56" in redacted


def test_feed_errors_are_masked_before_they_are_cut() -> None:
    """A card number straddling the 200-character cut leaves at most its first 6 and last 4
    digits, as everywhere else."""
    from fraudwatch.sources.feed_client import _SNIPPET, _error_message

    for offset in range(_SNIPPET - len(PAN) - 2, _SNIPPET + 1):
        response = httpx.Response(500, text="x" * offset + f" {PAN} and more text")
        message = _error_message(response)
        assert len(message) <= _SNIPPET
        for run in re.findall(r"\d+", message):
            shown = (PAN.startswith(run) and len(run) <= 6) or run in PAN[-4:]
            assert shown, f"digits {run!r} of the card in {message[-30:]!r}"


def test_configured_key_is_used(tmp_path: Path) -> None:
    key = load_or_create_key("a-configured-key-of-enough-length", tmp_path / "pan.key")
    assert key == b"a-configured-key-of-enough-length"
    assert not (tmp_path / "pan.key").exists()


def test_short_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PanKeyError, match="too short"):
        load_or_create_key("short", tmp_path / "pan.key")


def test_key_is_generated_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "state" / "pan.key"
    with caplog.at_level(logging.WARNING, logger="fraudwatch"):
        first = load_or_create_key(None, key_file)
    assert "FRAUDWATCH_PAN_KEY is not set" in caplog.text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fraudwatch"):
        second = load_or_create_key(None, key_file)
    assert first == second and len(first) >= 32
    assert caplog.text == ""


def test_no_full_pan_in_any_log_line(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    log = logging.getLogger("fraudwatch.test")
    log.info("scoring card %s", PAN)
    log.warning("record %r rejected", {"cc_num": int(PAN), "amt": "x"})
    log.debug(f"f-string with {PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]}")
    logging.getLogger("uvicorn.error").error("third-party line with %s", PAN)
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        log.exception("failed")
    err = capfd.readouterr().err
    assert "scoring card 499234*********4184" in err
    assert err.count("\n") >= 5
    assert PAN not in err.replace(" ", "")
    assert "bad card 499234" in err
