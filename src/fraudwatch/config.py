"""The one settings class: every knob is a ``FRAUDWATCH_*`` environment variable (``.env`` ok).

Library functions take the values they need as arguments; only the command-line front and
the long-running services read :func:`get_settings`, so tests can pass values directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration of fraudwatch, read from ``FRAUDWATCH_*`` variables and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="FRAUDWATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_by_name=True,  # Settings(database_url=...) works beside the env aliases
        validate_by_alias=True,
    )

    data_dir: Path = Field(
        Path("data"),
        description="Folder for local state: the generated PAN key, data sets, models, the "
        "SQLite database.",
    )
    pan_key: SecretStr | None = Field(
        None,
        description="Secret key for card tokens (HMAC-SHA256). Unset: a random key is "
        "generated once into `<data_dir>/pan.key`, with a warning.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the `fraudwatch` loggers."
    )
    seed: int = Field(42, description="Default random seed of the simulator.")
    fraud_rate: float = Field(
        0.005, gt=0, lt=0.5, description="Default share of fraudulent transactions simulated."
    )
    feed_host: str = Field("127.0.0.1", description="Interface the feed server listens on.")
    feed_port: int = Field(8100, ge=0, le=65535, description="Port of the feed server.")
    feed_rate: float = Field(
        10.0, gt=0, description="Transactions per second the feed server publishes."
    )
    feed_retention: int = Field(
        100_000,
        gt=0,
        description="Newest transactions the feed server keeps for cursor readers; older "
        "ones are reported as `missed`.",
    )
    feed_url: str = Field(
        "http://127.0.0.1:8100",
        description="Feed to poll: our feed server's base URL or a Jedha-style "
        "`.../current-transactions` URL.",
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("FRAUDWATCH_DATABASE_URL", "NEON_DB_URI"),
        repr=False,  # it may carry a password
        description="SQLAlchemy URL of the store. Unset: a SQLite file (WAL) "
        "`<data_dir>/fraudwatch.db`. `postgres://` and `postgresql://` URLs (e.g. Neon's) use "
        "psycopg 3. `NEON_DB_URI` is accepted too.",
    )
    direct_database_url: str | None = Field(
        None,
        repr=False,  # it may carry a password
        description="Direct (unpooled) URL that schema migrations use. Unset: derived from the "
        "store's URL: a Neon pooled host (`ep-…-pooler.….neon.tech`) loses its `-pooler`; any "
        "other URL migrates over itself.",
    )
    redis_url: str | None = Field(
        None,
        repr=False,  # it may carry a password
        description="Redis URL (`redis://host:6379/0`) for per-card feature state shared by "
        "every scoring process (`serve`, `run`). Unset: each process keeps its own.",
    )
    api_keys: SecretStr | None = Field(
        None,
        description="Comma-separated keys the scoring API accepts in `X-API-Key`. Unset: the "
        "API is open (with a warning); `fraudwatch demo` makes one and prints it.",
    )
    api_host: str = Field("127.0.0.1", description="Interface the scoring API listens on.")
    api_port: int = Field(8000, ge=0, le=65535, description="Port of the scoring API.")
    api_url: str | None = Field(
        None,
        description="Scoring API the Airflow DAG sends transactions to (`POST "
        "/v1/score/batch`), e.g. `http://api:8000`. Unset: the DAG scores in-process.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Key the Airflow DAG sends in `X-API-Key` to `FRAUDWATCH_API_URL` (one of "
        "the API's `FRAUDWATCH_API_KEYS`).",
    )
    max_event_skew: int = Field(
        86_400,
        gt=0,
        description="Seconds an event time may be ahead of the stream clock (the newest "
        "event time scored, not the wall clock: replays and the accelerated demo pass); "
        "further ahead, the record is a dead letter (API: 422) instead of card history.",
    )
    max_event_age: int = Field(
        2_592_000,
        gt=0,
        description="Seconds an event time may be behind the stream clock (late records: "
        "30 days); older, the record is a dead letter (API: 422). 5 agreeing records in a "
        "row outside the window move the clock to them (a stream back after a pause).",
    )
    chargeback_delay_days: float = Field(
        3.0,
        ge=0,
        description="Demo: days of event time after which a simulated fraud comes back as a "
        "chargeback label.",
    )
    require_services: bool = Field(
        False,
        description="Tests only: a test whose service (PostgreSQL, Redis, ...) is unreachable "
        "fails instead of skipping. `.ci/run` sets it.",
    )

    @property
    def pan_key_file(self) -> Path:
        """Where a generated PAN key is kept when ``FRAUDWATCH_PAN_KEY`` is unset."""
        return self.data_dir / "pan.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()


def settings_table() -> str:
    """The configuration table of the documentation site (``docs/configuration.md``).

    Markdown, generated from :class:`Settings` at build time, so it cannot drift.
    """
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        shown = "(unset)" if default is None else f"`{default}`"
        rows.append(f"| `FRAUDWATCH_{name.upper()}` | {shown} | {info.description} |")
    return "\n".join(rows)
