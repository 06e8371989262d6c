"""Packaging: the optional parts stay optional, a missing one is named in one line, and the
version is written once."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import fraudwatch

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Modules that only an extra installs: importing the core must not pull any of them in.
OPTIONAL_MODULES = (
    "streamlit", "plotly", "fastapi", "fastapi_offline", "uvicorn", "starlette",
    "prometheus_client", "redis", "psycopg",
)  # fmt: skip


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that imports fraudwatch from this checkout."""
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
        check=False, cwd=ROOT,
    )  # fmt: skip


def imported_optional_modules(code: str) -> list[str]:
    probe = (
        f"{code}\nimport sys\nprint(sorted(m for m in {OPTIONAL_MODULES!r} if m in sys.modules))"
    )
    done = run_python(probe)
    assert done.returncode == 0, done.stderr[-2000:]
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_the_pipeline_and_the_command_line_import_no_optional_dependency() -> None:
    assert imported_optional_modules("import fraudwatch.pipeline.runner, fraudwatch.cli") == []


def test_fraudwatch_help_imports_no_optional_dependency() -> None:
    code = (
        "import sys\nsys.argv = ['fraudwatch', '--help']\nfrom fraudwatch.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert imported_optional_modules(code) == []


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("fastapi", ["serve"], "api"),
        ("uvicorn", ["feed", "--source", "simulator"], "api"),
        (
            "psycopg",
            ["db", "upgrade", "--database-url", "postgresql://u@127.0.0.1:1/x"],
            "postgres",
        ),
        ("streamlit", ["dashboard", "--port", "0"], "dashboard"),
    ],
)
def test_a_command_whose_extra_is_missing_says_what_to_install_in_one_line(
    blocked: str, argv: list[str], extra: str, tmp_path: Path
) -> None:
    # None in sys.modules makes the import fail as if the package were not installed
    code = (
        f"import sys\nsys.modules[{blocked!r}] = None\nsys.argv = ['fraudwatch', *{argv!r}]\n"
        "from fraudwatch.cli import main\nmain()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"PYTHONPATH": str(ROOT / "src"), "FRAUDWATCH_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"fraudwatch: error: this command needs the optional '{extra}' dependencies "
        f"({blocked} is not installed): pip install 'fraudwatch[{extra}]'"
    ]


def test_every_module_named_for_an_extra_is_installed_by_that_extra() -> None:
    from fraudwatch.cli.extras import EXTRA_OF_MODULE

    extras = PYPROJECT["project"]["optional-dependencies"]
    core = " ".join(PYPROJECT["project"]["dependencies"])
    for module, extra in EXTRA_OF_MODULE.items():
        if module == "starlette":  # brought by streamlit (and by fastapi)
            continue
        wanted = module.replace("_", "-")
        assert any(r.startswith(wanted) for r in extras[extra]), (module, extra)
        assert wanted not in core, f"{module} is optional ({extra}) but a core dependency"
    assert set(extras["all"][0].partition("[")[2].rstrip("]").split(",")) == {
        "api", "dashboard", "postgres", "redis"
    }  # fmt: skip


def test_the_version_is_written_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/fraudwatch/__init__.py"
    assert fraudwatch.__version__.count(".") == 2
