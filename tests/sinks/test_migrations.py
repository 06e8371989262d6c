"""Alembic migrations build exactly the tables the code describes, once, without a PAN column."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.migrations import alembic_config
from fraudwatch.sinks import Store
from fraudwatch.sinks.tables import EVENT_TIME_INCLUDED, TABLE_NAMES, metadata
from tests.sinks.factories import synthetic_decisions

EXPECTED_INDEXES = {
    "decisions": {"card_token", "event_time", "category"},
    "labels": {"trans_num"},
}
PAN_LIKE = re.compile(r"(^|_)(pan|cc_?num|card_?num(ber)?|cc|card)($|_)")
MASKED = {"masked_pan", "card_token"}  # display form (6 + 4 digits) and keyed HMAC


def _tables(store: Store) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def test_upgrade_on_an_empty_database_creates_every_table_and_index(blank_store: Store) -> None:
    assert blank_store.revision() is None
    assert not set(TABLE_NAMES) & _tables(blank_store)
    blank_store.upgrade()
    assert _tables(blank_store) == {*TABLE_NAMES, "alembic_version"}
    assert blank_store.revision() == Store.head_revision() is not None
    inspector = sa.inspect(blank_store.engine)
    for table, columns in EXPECTED_INDEXES.items():
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}
        assert {(column,) for column in columns} <= indexed, table
    unique = inspector.get_unique_constraints("alerts")
    assert [c["column_names"] for c in unique] == [["trans_num"]]
    assert inspector.get_pk_constraint("decisions")["constrained_columns"] == ["trans_num"]


def test_migrated_schema_matches_the_tables_module(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_twice_is_a_no_op(store: Store) -> None:
    store.record_model_version("v1", {"auc": 0.99}, champion=True)
    revision = store.revision()
    store.upgrade()
    assert store.revision() == revision
    assert store.count("model_versions") == 1
    assert _tables(store) == {*TABLE_NAMES, "alembic_version"}


def test_decisions_table_has_the_decision_columns_and_no_pan(store: Store) -> None:
    columns = [c["name"] for c in sa.inspect(store.engine).get_columns("decisions")]
    assert tuple(c for c in columns if c != "inserted_at") == DECISION_COLUMNS
    assert "inserted_at" in columns
    for table in TABLE_NAMES:
        for column in sa.inspect(store.engine).get_columns(table):
            name = column["name"]
            assert name in MASKED or not PAN_LIKE.search(name), f"{table}.{name}"


def _event_time_index(store: Store) -> dict[str, Any]:
    indexes = sa.inspect(store.engine).get_indexes("decisions")
    return dict(next(ix for ix in indexes if ix["name"] == "ix_decisions_event_time"))


def _included(store: Store) -> list[str]:
    options = _event_time_index(store).get("dialect_options") or {}
    return list(options.get("postgresql_include") or [])


def test_event_time_index_covers_the_dashboard_columns_on_postgres(store: Store) -> None:
    assert _event_time_index(store)["column_names"] == ["event_time"]
    if store.backend == "postgresql":
        assert _included(store) == list(EVENT_TIME_INCLUDED)
    else:  # SQLite has no INCLUDE: the plain index
        assert _included(store) == []


def test_covering_index_revision_downgrades_and_upgrades_with_rows(store: Store) -> None:
    store.write_batch(synthetic_decisions(50))
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    assert store.revision() == "0001"
    assert _event_time_index(store)["column_names"] == ["event_time"]
    assert _included(store) == []
    store.upgrade()
    assert store.revision() == Store.head_revision()
    assert _included(store) == (list(EVENT_TIME_INCLUDED) if store.backend == "postgresql" else [])
    assert store.count("decisions") == 50
