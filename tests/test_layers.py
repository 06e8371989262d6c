"""The layer contract: imports run one way, down the stages (docs/architecture.md).

import-linter checks the contract in ``pyproject.toml``; these tests run it (CI runs only
``make test``), keep it honest (no ``ignore_imports``, every top-level module in a layer)
and show that it does catch an upward import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "fraudwatch"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return config


def _layers() -> list[list[str]]:
    (contract,) = [c for c in _config()["contracts"] if c["type"] == "layers"]
    return [
        [name.strip() for name in layer.replace(":", "|").split("|")]
        for layer in contract["layers"]
    ]


def _lint(source_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_the_layer_contract_is_kept() -> None:
    result = _lint(ROOT / "src", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_ignores_no_import() -> None:
    for contract in _config()["contracts"]:
        assert "ignore_imports" not in contract, contract["name"]
        assert not contract.get("unmatched_ignore_imports_alerting"), contract["name"]


def test_every_top_level_module_has_a_layer() -> None:
    named = [module for layer in _layers() for module in layer]
    assert len(named) == len(set(named)), "a module is in two layers"
    present = {
        f"fraudwatch.{path.stem if path.suffix == '.py' else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert present == set(named)


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the package whose contract layer imports the pipeline fails the check."""
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source / "fraudwatch", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    decision = source / "fraudwatch" / "decision.py"
    decision.write_text(decision.read_text() + "\nimport fraudwatch.pipeline.runner  # upward\n")
    result = _lint(source, tmp_path)
    assert result.returncode == 1
    assert "fraudwatch.decision is not allowed to import fraudwatch.pipeline" in result.stdout
