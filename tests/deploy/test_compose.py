"""docker-compose.yml: valid against the Compose specification's JSON schema, and coherent.

No Docker engine runs here, so the stack is not started: the file is validated against the
schema shipped in ``tests/fixtures/compose-spec.json`` (the compose-spec project's
``compose_spec.json``, as bundled by the dclint 3.1.0 npm package; nothing is downloaded at
test time), then checked for what the schema cannot see: health checks, start order, no
secret in the file, and every file it builds from or mounts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec.json"
LONG_RUNNING = {"postgres", "redis", "feed", "api", "pipeline", "dashboard", "airflow"}
ONE_SHOT = {"migrate", "model"}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<rest>[^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as Compose reads it (YAML anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_the_file_is_valid_against_the_compose_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_catches_a_broken_file(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["healthcheck"]["intervall"] = "10s"  # a typo
    broken["services"]["api"]["depends_on"]["redis"]["condition"] = "service_ready"
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(broken)]
    assert len(messages) >= 2


def test_the_stack_has_every_part_and_each_long_running_one_a_health_check(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == LONG_RUNNING | ONE_SHOT
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"] and not check.get("disable"), name
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name


def test_services_start_after_what_they_need(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for needed, rule in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{name} waits for {needed}'s health"
            if rule["condition"] == "service_completed_successfully":
                assert needed in ONE_SHOT, f"{name} waits for {needed} to finish"
    assert set(services["pipeline"]["depends_on"]) >= {"migrate", "model", "feed"}
    assert set(services["airflow"]["depends_on"]) >= {"postgres", "migrate", "api"}
    # the DAG scores through the API, with the key the API accepts
    airflow_env = services["airflow"]["environment"]
    assert airflow_env["FRAUDWATCH_API_URL"] == "http://api:8000"
    assert (
        airflow_env["FRAUDWATCH_API_KEY"] == services["api"]["environment"]["FRAUDWATCH_API_KEYS"]
    )


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for match in VARIABLE.finditer(text):
        # a secret without a value in .env stops `docker compose up` with a message
        assert match.group("rest").startswith(":?"), match.group(0)
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            # a password, key or credentials in a URL come from the environment (.env)
            if re.search(r"PASSWORD|_KEYS?$|SECRET", key) or re.search(r"://[^/]*@", str(value)):
                assert "${" in str(value), f"{name}: {key} is written in the file"


def test_every_file_it_builds_from_or_mounts_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            build = service["build"]
            dockerfile = ROOT / build["context"] / build["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile}"
            for line in dockerfile.read_text(encoding="utf-8").splitlines():
                if line.startswith("COPY"):
                    sources = [p for p in line.split()[1:-1] if not p.startswith("--")]
                    for source in sources:
                        assert (ROOT / source).exists(), f"{dockerfile.name}: {source}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"
    dags = ROOT / "deploy" / "airflow.Dockerfile"
    assert "apache/airflow:3.3.2" in dags.read_text(encoding="utf-8")
