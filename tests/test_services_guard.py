"""The service rule itself: skip on a laptop, fail under FRAUDWATCH_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_needing_service(tmp_path: Path, required: str | None) -> subprocess.CompletedProcess[str]:
    port = _closed_port()
    test_file = tmp_path / "test_needs_service.py"
    test_file.write_text(
        "from tests.services import require_service\n\n"
        "def test_needs_it():\n"
        f"    require_service('Imaginary', '127.0.0.1', {port})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FRAUDWATCH_REQUIRE_SERVICES"}
    env["PYTHONPATH"] = str(ROOT)
    if required is not None:
        env["FRAUDWATCH_REQUIRE_SERVICES"] = required
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file),
         "--rootdir", str(tmp_path), "-rs"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip


def test_missing_service_skips_on_a_laptop(tmp_path: Path) -> None:
    result = _run_needing_service(tmp_path, required=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "service unavailable: Imaginary" in result.stdout


@pytest.mark.parametrize("flag", ["1", "true"])
def test_missing_service_fails_when_services_are_required(tmp_path: Path, flag: str) -> None:
    result = _run_needing_service(tmp_path, required=flag)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout
    assert "FRAUDWATCH_REQUIRE_SERVICES=1 makes this a failure" in result.stdout


def test_no_tests_collected_is_a_failure(tmp_path: Path) -> None:
    """`make test` must not go green when pytest finds nothing to run."""
    (tmp_path / "test_empty.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
