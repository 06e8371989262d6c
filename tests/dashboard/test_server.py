"""The dashboard's process: its command line, its CLI entry, and its module layout."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fraudwatch.cli import app
from fraudwatch.dashboard.filters import RISK_LEVELS
from fraudwatch.dashboard.server import APP_SCRIPT, LAUNCHER, dashboard_command

DASHBOARD = Path(APP_SCRIPT).parents[1]


def test_command_runs_streamlit_headless_on_the_launcher() -> None:
    command = dashboard_command(port=8765, host="0.0.0.0")
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(LAUNCHER)
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.port"] == "8765" and options["--server.address"] == "0.0.0.0"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"


def test_cli_has_a_dashboard_command() -> None:
    result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"}).invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--database-url" in result.output and "--port" in result.output


def test_streamlit_folder_holds_only_the_two_scripts() -> None:
    """Streamlit puts the script's folder on sys.path: nothing there may shadow a module."""
    names = {path.name for path in (DASHBOARD / "webapp").glob("*.py")}
    assert names == {"__init__.py", "app.py", "serve.py"}


def test_modules_stay_small() -> None:
    for path in DASHBOARD.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 400, path


def test_risk_levels_match_the_scorer() -> None:
    from fraudwatch.decision import RISK_LEVELS as SCORER_LEVELS

    assert tuple(SCORER_LEVELS) == RISK_LEVELS
