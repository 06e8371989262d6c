"""The field declarations are the one contract: both engines and the API's request model follow.

The API's ``Transaction`` is generated from :data:`fraudwatch.schema.FIELDS`; these tests
fail if the two ever drift (field set, JSON types, required-ness, bounds, patterns, choices),
and show that a rule changed in its declaration changes both engines.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from fraudwatch.api import schemas
from fraudwatch.schema import (
    FEED_COLUMNS,
    FIELDS,
    FIELDS_BY_NAME,
    KAGGLE_COLUMNS,
    SCENARIO_COLUMN,
    FieldSpec,
    Kind,
    frame,
    records,
    validate_batch_vectorised,
    validate_small,
)
from tests.test_schema import RECORDS

#: The JSON Schema type of each kind of field in the request body.
JSON_TYPES = {
    Kind.TEXT: "string", Kind.CARD: "string", Kind.CHOICE: "string", Kind.NUMBER: "number",
    Kind.COUNT: "integer", Kind.EVENT_MS: "integer", Kind.EVENT_TEXT: "string",
    Kind.BIRTH_DATE: "string", Kind.INTEGER: "integer",
}  # fmt: skip


def test_every_known_column_is_declared_once() -> None:
    names = [spec.name for spec in FIELDS]
    assert len(names) == len(set(names))
    assert set(names) == {*KAGGLE_COLUMNS, *FEED_COLUMNS, SCENARIO_COLUMN}
    for spec in FIELDS:
        assert spec.description, spec.name
        checked = spec.kind not in (Kind.TEXT, Kind.TAG)  # text: only "missing value"
        assert bool(spec.message) is checked, f"{spec.name}: a message iff it has a rule"


def _properties() -> tuple[dict[str, Any], set[str]]:
    document = schemas.Transaction.model_json_schema()
    return document["properties"], set(document.get("required", []))


def _json_type(prop: dict[str, Any]) -> str:
    types = {option.get("type") for option in prop.get("anyOf", [prop])} - {"null"}
    (json_type,) = types
    return str(json_type)


def test_request_model_has_exactly_the_declared_fields_types_and_required_ness() -> None:
    properties, required = _properties()
    declared = [spec for spec in FIELDS if spec.in_request]
    assert set(properties) == {spec.name for spec in declared}
    assert required == {spec.name for spec in declared if spec.required}
    for spec in declared:
        prop = properties[spec.name]
        assert _json_type(prop) == JSON_TYPES[spec.kind], spec.name
        nullable = any(option.get("type") == "null" for option in prop.get("anyOf", []))
        assert nullable is not spec.required, spec.name
        assert prop["description"].startswith(spec.description), spec.name
    assert SCENARIO_COLUMN not in properties  # the simulator's own column


def test_request_model_documents_the_declared_bounds_patterns_and_choices() -> None:
    properties, _ = _properties()
    for spec in FIELDS:
        if not spec.in_request:
            continue
        prop = properties[spec.name]
        if spec.pattern is not None:
            assert re.fullmatch(prop["pattern"], "") is None
            assert prop["pattern"] == f"^(?:{spec.pattern})$", spec.name
        else:
            assert "pattern" not in prop, spec.name
        if spec.choices:
            assert set(spec.choices) <= set(prop["enum"]), spec.name
            accepted = {c.upper() for c in prop["enum"]} if spec.upper else set(prop["enum"])
            assert accepted == set(spec.choices), spec.name
        numeric = JSON_TYPES[spec.kind] != "string"
        for keyword, bound in (("minimum", spec.ge), ("maximum", spec.le),
                               ("exclusiveMaximum", spec.lt)):  # fmt: skip
            if numeric and bound is not None:
                assert prop[keyword] == bound, (spec.name, keyword)
            else:
                assert keyword not in prop, (spec.name, keyword)


def test_the_batch_body_documents_the_contract_with_examples() -> None:
    """The schema FastAPI puts in ``/openapi.json`` for a batch embeds the generated model."""
    schema = schemas.BatchRequest.model_json_schema()
    transaction = schema["$defs"]["Transaction"]
    assert transaction["properties"]["amt"]["minimum"] == 0
    assert transaction["properties"]["lat"]["maximum"] == 90
    assert transaction["examples"] == [schemas.KAGGLE_EXAMPLE, schemas.FEED_EXAMPLE]
    assert all("examples" in transaction["properties"][name] for name in schemas.KAGGLE_EXAMPLE)


def test_the_examples_are_valid_under_the_contract() -> None:
    for example in (schemas.KAGGLE_EXAMPLE, schemas.FEED_EXAMPLE):
        record = schemas.Transaction.model_validate(example).record()
        assert not validate_batch_vectorised([record]).rejected


def test_a_rule_changed_in_its_declaration_changes_both_engines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stricter = dataclasses.replace(FIELDS_BY_NAME["amt"], ge=5, bounds_message="must be >= 5")
    patched: tuple[FieldSpec, ...] = tuple(
        stricter if spec.name == "amt" else spec for spec in FIELDS
    )
    for engine in (frame, records):
        monkeypatch.setattr(engine, "FIELDS", patched)
    batch = [dict(RECORDS[0], amt=3.0), dict(RECORDS[1], amt=7.0)]
    for result in (validate_small(batch), validate_batch_vectorised(batch)):
        assert [r.reason for r in result.rejected] == ["amt: must be >= 5"]
        assert list(result.valid["amt"]) == [7.0]
