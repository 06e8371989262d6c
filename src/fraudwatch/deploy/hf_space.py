"""The dashboard as a Hugging Face Space: build the folder to push to the Space's git repository.

``python -m fraudwatch.deploy.hf_space OUT`` (or ``make hf-space``) writes a Docker Space:
``app.py`` (the entry point: the dashboard and its CSV export route, as ``fraudwatch
dashboard`` serves them), this ``fraudwatch`` package, ``requirements.txt`` (our runtime
dependencies with the ``dashboard`` and ``postgres`` extras, pinned by a copy of
``constraints.txt``), a ``Dockerfile`` and the Space card
``README.md``. The database URL is never written into the folder: it is a secret of the
Space (``FRAUDWATCH_DATABASE_URL``, or ``NEON_DB_URI``), which the Space hands the app as an
environment variable; without it the app stops with a message saying so.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from fraudwatch.dashboard.server import METRIC_VALUE_FONT_SIZE

PACKAGE = Path(__file__).resolve().parents[1]
#: The repository root of a source checkout (pyproject.toml, constraints.txt).
PROJECT = PACKAGE.parents[1]
SPACE_PORT = 7860
SECRET_NAMES = ("FRAUDWATCH_DATABASE_URL", "NEON_DB_URI")
#: The extras of pyproject.toml the Space installs: the dashboard over a Postgres/Neon store
#: (no scoring API, no Redis).
SPACE_EXTRAS = ("dashboard", "postgres")

APP_PY = '''"""Hugging Face Space entry point: the fraudwatch dashboard over the secret database.

The Space runs ``streamlit run app.py``; Streamlit serves the ``st.App`` below: the
dashboard page plus its streamed ``/export.csv`` route. The database URL comes from the
Space secret FRAUDWATCH_DATABASE_URL (or NEON_DB_URI), never from a file.
"""

import os

import streamlit as st

from fraudwatch.dashboard.server import APP_SCRIPT, export_routes

SECRETS = {secrets!r}
if not any(os.environ.get(name, "").strip() for name in SECRETS):
    raise SystemExit(
        "fraudwatch dashboard: no database configured. Add the secret FRAUDWATCH_DATABASE_URL "
        "(or NEON_DB_URI) with your Postgres/Neon connection string in the Space settings "
        "(Settings -> Variables and secrets), then restart the Space."
    )

app = st.App(APP_SCRIPT, routes=export_routes())
'''

DOCKERFILE = """FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Spaces run the container as user 1000: local state (none is needed) goes to /tmp
ENV FRAUDWATCH_DATA_DIR=/tmp/fraudwatch PYTHONUNBUFFERED=1
EXPOSE {port}
CMD ["streamlit", "run", "app.py", "--server.port", "{port}", "--server.address", "0.0.0.0", \\
     "--server.headless", "true", "--browser.gatherUsageStats", "false", \\
     "--server.fileWatcherType", "none", "--theme.base", "light", \\
     "--theme.metricValueFontSize", "{metric_font}"]
"""

README = """---
title: fraudwatch dashboard
emoji: 💳
colorFrom: red
colorTo: gray
sdk: docker
app_port: {port}
pinned: false
---

# fraudwatch — fraud monitoring dashboard

The Streamlit dashboard of fraudwatch (real-time card-fraud detection) over a
Postgres/Neon database that a fraudwatch pipeline (or the `fraud_ingest` Airflow DAG)
writes to.

**Set the database as a secret**: Settings → Variables and secrets → *New secret*, name
`FRAUDWATCH_DATABASE_URL` (or `NEON_DB_URI`), value your connection string, e.g. Neon's
pooled one `postgresql://USER:PASSWORD@ep-…-pooler.REGION.aws.neon.tech/neondb?sslmode=require`.
Never put it in a file of this repository. The dashboard only reads, except analysts'
labels; create the tables first with `fraudwatch db upgrade` from any machine.
"""


def requirements(pyproject: Path, extras: Sequence[str] = SPACE_EXTRAS) -> list[str]:
    """The runtime dependencies of ``pyproject.toml`` and of its ``extras``, as requirement lines.

    The package is copied into the Space rather than installed, so its extras are spelt
    out here instead of ``fraudwatch[dashboard,postgres]``.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]
    lines = [str(requirement) for requirement in project["dependencies"]]
    return lines + [str(requirement) for extra in extras for requirement in optional[extra]]


def build_space(out: Path, project: Path = PROJECT, package: Path = PACKAGE) -> Path:
    """Write the Space folder ``out`` (replacing it) and return it."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(
        package, out / "fraudwatch", ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]")
    )
    shutil.copyfile(project / "constraints.txt", out / "constraints.txt")
    extras = ",".join(SPACE_EXTRAS)
    lines = [f"# fraudwatch[{extras}]'s dependencies, pinned by our lock", "-c constraints.txt"]
    (out / "requirements.txt").write_text(
        "\n".join([*lines, *requirements(project / "pyproject.toml")]) + "\n", encoding="utf-8"
    )
    (out / "app.py").write_text(APP_PY.format(secrets=SECRET_NAMES), encoding="utf-8")
    (out / "Dockerfile").write_text(
        DOCKERFILE.format(port=SPACE_PORT, metric_font=METRIC_VALUE_FONT_SIZE), encoding="utf-8"
    )
    (out / "README.md").write_text(README.format(port=SPACE_PORT), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fraudwatch.deploy.hf_space OUT``: build the Space folder."""
    parser = argparse.ArgumentParser(prog="python -m fraudwatch.deploy.hf_space")
    parser.add_argument("out", type=Path, help="folder to write (replaced if it exists)")
    args = parser.parse_args(argv)
    if not (PROJECT / "pyproject.toml").is_file():
        print("run this from a source checkout of fraudwatch", file=sys.stderr)
        return 2
    folder = build_space(args.out)
    print(f"Space folder written to {folder}: push it to your Space's git repository and add "
          "the secret FRAUDWATCH_DATABASE_URL in the Space settings")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
