"""``make airflow``: ``airflow standalone`` on localhost with our DAGs; prints UI address and login.

``airflow standalone`` starts the scheduler, DAG processor, triggerer and API server (the
UI) in one terminal, but binds the UI to every interface and does not say where it is or
(after the first start) what the password is. This wrapper runs it with the UI on
``127.0.0.1``, ``airflow/dags`` as the DAGs folder and no example DAGs, echoes its output,
and once the UI answers prints the address and the login of the generated
``admin`` user. Ctrl-C stops every component. Nothing here imports Airflow: the wrapper
only starts the ``airflow`` command that sits beside the running Python.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

#: The API server's health check (answers without a login).
HEALTH_PATH = "/api/v2/monitor/health"
#: The user ``airflow standalone`` creates, with a generated password.
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
#: How long standalone may take to stop its components after Ctrl-C before we insist.
STOP_GRACE_S = 30.0


def standalone_env(
    environ: Mapping[str, str],
    *,
    home: Path,
    dags_folder: Path,
    host: str,
    port: int,
    bin_dir: Path | None = None,
) -> dict[str, str]:
    """The environment of ``airflow standalone``: ours on top of the caller's (FRAUDWATCH_* kept).

    ``bin_dir`` (the Airflow venv's ``bin``) goes first on PATH: standalone starts its
    components as plain ``airflow`` commands.
    """
    env = dict(environ)
    address = ui_address(host, port)
    if bin_dir is not None:
        env["PATH"] = os.pathsep.join(filter(None, [str(bin_dir), environ.get("PATH", "")]))
    env.update(
        AIRFLOW_HOME=str(home.absolute()),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder.absolute()),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__API__HOST=host,
        AIRFLOW__API__PORT=str(port),
        # the UI's links and the tasks' execution API follow the chosen address
        AIRFLOW__API__BASE_URL=address,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{address}/execution/",
    )
    return env


def ui_address(host: str, port: int) -> str:
    """The URL of the Airflow UI."""
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    return f"http://{shown}:{port}"


def read_login(home: Path) -> tuple[str, str] | None:
    """The ``admin`` user and its generated password, or None before Airflow made them."""
    path = home / PASSWORDS_FILE
    try:
        passwords = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(passwords, dict) or not passwords:
        return None
    user = ADMIN_USER if ADMIN_USER in passwords else next(iter(passwords))
    return str(user), str(passwords[user])


def banner(address: str, login: tuple[str, str] | None, home: Path) -> str:
    """The lines printed once Airflow is ready: where the UI is and how to log in."""
    if login is None:
        how = f"login: see {home / PASSWORDS_FILE}"
    else:
        how = f"login: {login[0]} / {login[1]}  (kept in {home / PASSWORDS_FILE})"
    return "\n".join(
        [
            "",
            f"Airflow UI: {address}   {how}",
            "DAG fraud_ingest is paused when first seen: unpause it in the UI "
            "(its settings are this shell's FRAUDWATCH_* variables). Ctrl-C stops Airflow.",
            "",
        ]
    )


def airflow_command() -> Path:
    """The ``airflow`` executable of the running virtual environment."""
    return Path(sys.executable).parent / "airflow"


def ui_is_up(address: str, timeout: float = 2.0) -> bool:
    """Whether the Airflow API server answers its health check."""
    try:
        with urllib.request.urlopen(f"{address}{HEALTH_PATH}", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def wait_for_ui(address: str, process: subprocess.Popen[bytes], *, timeout: float = 300.0) -> bool:
    """Poll the UI until it answers (True), Airflow exits or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if ui_is_up(address):
            return True
        time.sleep(1.0)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``airflow standalone`` until Ctrl-C; print the UI address and login once it answers."""
    parser = argparse.ArgumentParser(prog="airflow/standalone.py", description=__doc__)
    home_default = Path(os.environ.get("AIRFLOW_HOME", "data/airflow"))
    parser.add_argument("--home", type=Path, default=home_default, help="AIRFLOW_HOME")
    parser.add_argument("--dags", type=Path, default=Path("airflow/dags"))
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    home: Path = args.home.absolute()
    home.mkdir(parents=True, exist_ok=True)
    env = standalone_env(
        os.environ, home=home, dags_folder=args.dags, host=args.host, port=args.port,
        bin_dir=airflow_command().parent,
    )  # fmt: skip
    address = ui_address(args.host, args.port)
    print(f"starting Airflow standalone: AIRFLOW_HOME={home}, DAGs {args.dags.absolute()}, "
          f"UI {address}", flush=True)  # fmt: skip
    # its own process group: Ctrl-C reaches it once, through _stop, which then waits for it
    process = subprocess.Popen(
        [str(airflow_command()), "standalone"], env=env, start_new_session=True
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops like Ctrl-C

    def announce() -> None:
        if wait_for_ui(address, process):
            print(banner(address, read_login(home), home), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        return process.wait()  # Airflow ended by itself: its exit code
    except KeyboardInterrupt:
        print("stopping Airflow ...", flush=True)
        return 0  # stopped as asked (by Ctrl-C or SIGTERM)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Airflow: SIGINT (as Ctrl-C) to standalone, then SIGTERM, then SIGKILL to them all."""
    for sig, target, wait in (
        (signal.SIGINT, "leader", STOP_GRACE_S),
        (signal.SIGTERM, "group", 15.0),
        (signal.SIGKILL, "group", 15.0),
    ):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            if target == "leader":
                process.send_signal(sig)  # standalone then stops each of its components
            else:
                os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    with contextlib.suppress(ProcessLookupError):  # a component that outlived standalone
        os.killpg(process.pid, signal.SIGKILL)
