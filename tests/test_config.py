"""Settings come from FRAUDWATCH_* variables and .env (tests/test_docs.py: the site lists them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from fraudwatch.config import Settings, get_settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAUDWATCH_FEED_PORT", "9123")
    monkeypatch.setenv("FRAUDWATCH_FRAUD_RATE", "0.02")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.feed_port == 9123
    assert settings.fraud_rate == 0.02
    assert settings.data_dir == tmp_path / "data"
    assert settings.pan_key_file == tmp_path / "data" / "pan.key"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FRAUDWATCH_SEED=7\nFRAUDWATCH_PAN_KEY=from-dotenv-0123456789\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.seed == 7
    assert settings.pan_key is not None
    assert settings.pan_key.get_secret_value() == "from-dotenv-0123456789"
    assert "from-dotenv" not in repr(settings)


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDWATCH_FRAUD_RATE", "1.5")
    with pytest.raises(ValidationError, match="fraud_rate"):
        Settings()
