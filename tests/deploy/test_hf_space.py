"""The Hugging Face Space recipe: build the folder, import its entry point, check what it pins.

The Space itself cannot be pushed from here; the test builds the folder exactly as a user
would push it and imports ``app.py`` in a fresh interpreter from inside it, with and
without the database secret.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from fraudwatch.dashboard.server import METRIC_VALUE_FONT_SIZE
from fraudwatch.deploy.hf_space import SPACE_PORT, build_space

ROOT = Path(__file__).resolve().parents[2]
SECRET_URL = (
    "postgresql://space_user:npg_VerySecret42@ep-x-pooler.eu-central-1.aws.neon.tech/neondb"
)


@pytest.fixture
def space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A freshly built Space folder (built while a database secret is in the environment)."""
    monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", SECRET_URL)
    return build_space(tmp_path / "space")


def import_app(space: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``import app`` from inside the Space folder, as ``streamlit run app.py`` would."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUDWATCH_", "NEON_"))}
    probe = (
        "import app, fraudwatch, fraudwatch.dashboard.server as s; "
        "print(type(app.app).__name__, fraudwatch.__file__, s.APP_SCRIPT, sep='\\n')"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=space, env=clean | env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_space_folder_holds_the_entry_point_package_and_pins(space: Path) -> None:
    names = {path.name for path in space.iterdir()}
    assert names == {"app.py", "fraudwatch", "requirements.txt", "constraints.txt", "Dockerfile",
                     "README.md"}  # fmt: skip
    assert (space / "fraudwatch" / "dashboard" / "webapp" / "app.py").is_file()
    assert (space / "fraudwatch" / "migrations").is_dir()
    assert not list(space.rglob("__pycache__"))
    card = (space / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^sdk: docker$", card, re.M) and f"app_port: {SPACE_PORT}" in card
    dockerfile = (space / "Dockerfile").read_text(encoding="utf-8")
    assert '"streamlit", "run", "app.py", "--server.port", "7860"' in dockerfile
    # the same metric size as `fraudwatch dashboard`, where the browser test checks nothing is cut
    assert f'"--theme.metricValueFontSize", "{METRIC_VALUE_FONT_SIZE}"]' in dockerfile
    # the database URL is a secret of the Space: no file carries it
    for path in space.rglob("*"):
        if path.is_file():
            assert "npg_VerySecret42" not in path.read_text(encoding="utf-8", errors="ignore")


def test_every_requirement_is_pinned_to_the_version_the_tests_ran_with(space: Path) -> None:
    lines = (space / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "-c constraints.txt" in lines
    pins = {}
    for line in (space / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, pinned = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    requirements = [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]
    assert {r.name for r in requirements} >= {"streamlit", "sqlalchemy", "psycopg", "plotly"}
    for requirement in requirements:
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned by constraints.txt"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])
        assert pins[name] == version(name), f"{name}: lock {pins[name]}, installed {version(name)}"


def test_the_entry_point_imports_from_the_space_and_needs_the_secret(space: Path) -> None:
    missing = import_app(space)
    assert missing.returncode == 1
    assert "no database configured. Add the secret FRAUDWATCH_DATABASE_URL" in missing.stderr
    for name in ("FRAUDWATCH_DATABASE_URL", "NEON_DB_URI"):
        done = import_app(space, **{name: SECRET_URL})
        assert done.returncode == 0, done.stderr[-2000:]
        kind, package, script = done.stdout.strip().splitlines()[-3:]
        assert kind == "App"  # Streamlit's st.App: the page plus the /export.csv route
        assert Path(package).is_relative_to(space)  # the Space's own copy, not the checkout
        assert Path(script) == space / "fraudwatch" / "dashboard" / "webapp" / "app.py"
