"""Card numbers: keyed tokens for joins, masks for people, never a PAN in a log line."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import httpx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudwatch.config import Settings, get_settings
from fraudwatch.log import configure_logging
from fraudwatch.privacy import (
    PanKeyError,
    card_token,
    card_tokens,
    load_or_create_key,
    luhn_valid,
    mask_pan,
    pan_key_from_settings,
    redact_card_numbers,
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


def test_the_settings_key_is_the_configured_one_else_one_file_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every front reads the key through pan_key_from_settings: the CLI's is the same."""
    from fraudwatch.cli.common import pan_key

    configured = Settings(pan_key="a-configured-key-of-enough-length", data_dir=tmp_path)
    assert pan_key_from_settings(configured) == b"a-configured-key-of-enough-length"
    assert not (tmp_path / "pan.key").exists()
    generated = pan_key_from_settings(Settings(data_dir=tmp_path))
    assert (tmp_path / "pan.key").read_text(encoding="utf-8").strip().encode() == generated
    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    assert pan_key() == generated == pan_key_from_settings(Settings(data_dir=tmp_path))


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


# -- the log filter: Luhn-valid, standalone card numbers only ------------------------------


def _luhn_number(length: int, seed: int) -> str:
    """A Luhn-valid number of ``length`` digits (the check digit computed, as issuers do)."""
    body = "".join(str((seed * 7 + position * 3 + 4) % 10) for position in range(length - 1))
    body = "4" + body[1:]
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no check digit")


def _logged(capfd: pytest.CaptureFixture[str], *lines: str) -> str:
    configure_logging("INFO")
    log = logging.getLogger("fraudwatch.test")
    capfd.readouterr()
    for line in lines:
        log.info("%s", line)
    return capfd.readouterr().err


@pytest.mark.parametrize("length", range(8, 20))
@pytest.mark.parametrize("separator", ["", " ", "-"])
def test_log_filter_masks_luhn_valid_numbers_of_8_to_19_digits(
    length: int, separator: str, capfd: pytest.CaptureFixture[str]
) -> None:
    pan = _luhn_number(length, length)
    groups = [pan[i : i + 4] for i in range(0, length, 4)]
    if len(groups[-1]) < 3:  # written 4-4-5 rather than 4-4-4-1
        groups[-2:] = [groups[-2] + groups[-1]]
    written = separator.join(groups)
    err = _logged(capfd, f"declined card {written}, retry", f"card={written}.")
    assert pan not in err.replace(separator or "#", "")
    assert err.count(mask_pan(pan)) == 2, err


def test_log_filter_leaves_model_versions_dates_and_trans_nums_alone(
    capfd: pytest.CaptureFixture[str], kaggle_head: Path
) -> None:
    luhn8 = _luhn_number(8, 1)
    lines = [
        f"model fw-20261202T084901-{luhn8} loaded",  # the version format, all-digit hash
        "model fw-20261202T0849012266 loaded",
        f"champion is now fw-{_luhn_number(16, 5)}-abc",
        "between 2020-06-21 10:00:18 and 2020-06-21 2020-06-22 (20200621)",
        f"release v1.{_luhn_number(12, 2)}.3 amount 1234.56",
    ]
    frame = pd.read_csv(kaggle_head, dtype=str, nrows=50)
    lines += [f"scored {trans_num}" for trans_num in frame["trans_num"]]
    err = _logged(capfd, *lines)
    for line in lines:
        assert line in err


def test_log_filter_masks_every_kaggle_card_number(
    capfd: pytest.CaptureFixture[str], kaggle_head: Path
) -> None:
    pans = sorted(set(pd.read_csv(kaggle_head, dtype=str)["cc_num"]))
    assert len(pans) > 800 and all(luhn_valid(pan) for pan in pans)
    err = _logged(capfd, *(f"card {pan} declined ({pan[:4]} {pan[4:]})" for pan in pans))
    for pan in pans:
        assert pan not in err.replace(" ", "")
        assert f"card {mask_pan(pan)} declined" in err


def test_dead_letters_keep_the_stricter_mask_the_log_filter_does_not(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A card-like number that fails Luhn (a typo) is masked in raw-record texts; in a log line
    it stays (the residual risk docs/security.md states), so that versions and dates stay whole."""
    typo = "4111111111111112"
    assert not luhn_valid(typo)
    assert typo not in redact_pans(f"record {{'cc_num': '{typo}'}}")
    assert typo in _logged(capfd, f"record {typo}")
    assert redact_card_numbers(f"record {typo}") == f"record {typo}"
