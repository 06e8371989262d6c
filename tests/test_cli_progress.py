"""Progress lines to a log (stderr not a terminal) come at most every 10 s."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fraudwatch
from fraudwatch.cli.common import PROGRESS_EVERY_LOG, PROGRESS_EVERY_TERMINAL, progress_every
from tests.model.conftest import bundle, model_dir, split_files, train_frame  # noqa: F401

SRC = Path(fraudwatch.__file__).parents[1]  # the fraudwatch under test, for the subprocess
PROGRESS = re.compile(r"INFO +fraudwatch\.pipeline\.runner: pipeline simulator: read")
FINISHED = re.compile(r"pipeline simulator finished: .*, ([0-9.]+) s \(")


def test_progress_every_is_10_s_for_a_file_and_5_s_for_a_terminal(tmp_path: Path) -> None:
    with (tmp_path / "log.txt").open("w") as log_file:
        assert progress_every(log_file) == PROGRESS_EVERY_LOG == 10.0
    primary, secondary = os.openpty()  # a real terminal
    with os.fdopen(secondary, "w") as terminal:
        assert progress_every(terminal) == PROGRESS_EVERY_TERMINAL < PROGRESS_EVERY_LOG
    os.close(primary)


@pytest.mark.slow
def test_run_logs_progress_at_most_every_10_s_to_a_file(
    model_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "run.log"
    env = {**os.environ, "PYTHONPATH": str(SRC), "FRAUDWATCH_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "fraudwatch", "run", "--source", "simulator",
               "--rate", "20", "--model-dir", str(model_dir)]  # fmt: skip
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log_file, env=env, cwd=tmp_path
        )
        try:
            deadline = time.monotonic() + 120
            while not PROGRESS.search(log_path.read_text()):  # the first line: 10 s after start
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            time.sleep(1.5)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    text = log_path.read_text()
    finished = FINISHED.search(text)
    assert finished, text
    seconds = float(finished.group(1))
    assert 10.0 <= seconds < 20.0, text
    assert len(PROGRESS.findall(text)) == 1, text  # every 5 s it would be 2 or more
