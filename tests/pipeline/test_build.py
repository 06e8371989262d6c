"""The store the settings describe, built once for every front (fraudwatch.pipeline.build)."""

from __future__ import annotations

from pathlib import Path

from fraudwatch.config import Settings
from fraudwatch.pipeline.build import build_store


def test_the_configured_store_migrates_over_the_configured_direct_url(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'pooled.db'}",
        direct_database_url=f"sqlite:///{tmp_path / 'direct.db'}",
    )
    with build_store(settings) as store:
        assert store.url == f"sqlite:///{tmp_path / 'pooled.db'}"
        assert store.migration_url == f"sqlite:///{tmp_path / 'direct.db'}"


def test_a_database_named_instead_migrates_over_itself(tmp_path: Path) -> None:
    """The configured direct URL belongs to the configured database, not to another one."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'pooled.db'}",
        direct_database_url=f"sqlite:///{tmp_path / 'direct.db'}",
    )
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with build_store(settings, other) as store:
        assert store.url == store.migration_url == other


def test_nothing_configured_is_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    with build_store(Settings(data_dir=tmp_path)) as store:
        assert store.url == f"sqlite:///{tmp_path.absolute() / 'fraudwatch.db'}"
        assert store.migration_url == store.url
