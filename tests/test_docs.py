"""The documentation site builds without a warning, documents every feature and setting, and
loads nothing from the Internet."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fraudwatch.config import Settings, settings_table
from fraudwatch.features import FEATURES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def settings_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_table_hook", DOCS / "hooks" / "settings_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with ``mkdocs build --strict`` (a warning or a broken link fails)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env=os.environ | {"PYTHONPATH": str(ROOT / "src"), "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    return out


def test_every_feature_is_in_the_detection_page_table() -> None:
    detection = page("detection.md")
    for feature in FEATURES:
        assert f"| `{feature.name}` | {feature.kind} |" in detection, feature.name


def test_the_configuration_page_is_generated_from_the_settings(site: Path) -> None:
    assert settings_hook().MARKER in page("configuration.md")
    html = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    for name, info in Settings.model_fields.items():
        assert f"FRAUDWATCH_{name.upper()}" in html, name
        assert info.description is not None
        # the description as the table renders it (backquoted words become <code>)
        first_words = re.split(r"[`(]", info.description)[0].strip()
        assert first_words in html, name


def test_the_settings_hook_renders_the_table_and_refuses_a_page_without_its_marker() -> None:
    hook = settings_hook()
    assert hook.render(f"# Configuration\n\n{hook.MARKER}\n") == (
        f"# Configuration\n\n{settings_table()}\n"
    )
    with pytest.raises(ValueError, match="marker"):
        hook.render("# Configuration\n")


def test_the_site_has_the_architecture_and_experiment_pages(site: Path) -> None:
    architecture = (site / "architecture" / "index.html").read_text(encoding="utf-8")
    for package in ("fraudwatch.schema", "fraudwatch.decision", "fraudwatch.sources",
                    "fraudwatch.pipeline", "fraudwatch.cli"):  # fmt: skip
        assert package in architecture
    assert (site / "experiments" / "index.html").is_file()
    assert (site / "benchmarks" / "index.html").is_file()
    # the API reference is generated from the docstrings
    store = (site / "reference" / "store" / "index.html").read_text(encoding="utf-8")
    assert "write_batch" in store
    assert ":class:<code>" not in store and ":meth:<code>" not in store  # Sphinx roles dropped
    assert not (site / "hooks").exists()


def test_the_site_loads_nothing_from_the_internet(site: Path) -> None:
    loads = re.compile(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        # a plain <a href> to elsewhere is a link, not a load; fonts and scripts are loads
        assert not loads.search(text), f"{html.relative_to(site)}: {loads.search(text)}"
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text


def test_no_page_links_a_file_outside_the_repository() -> None:
    for path in DOCS.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "../shared" not in text, path
