"""The ``fraudwatch`` command: a thin front with one sub-command per job.

Every command parses its options, reads settings, and calls library functions; no logic
lives here that a DAG, the API or the dashboard would need too. Commands are grouped in
``data`` (simulate, validate), ``labels`` (load fraud labels), ``model`` (train, score,
evaluate) and ``live`` (feed, poll, run, serve, demo, db).
"""

import sys

from fraudwatch.cli import data, labels, live, model  # noqa: F401  (importing registers the commands)
from fraudwatch.cli.common import app
from fraudwatch.cli.extras import missing_extra


def main() -> None:
    """Entry point of the ``fraudwatch`` console script.

    A command whose optional dependencies are not installed ends with one line naming the
    extra to install and exit code 2, not an import traceback.
    """
    try:
        app()
    except ModuleNotFoundError as error:
        message = missing_extra(error)
        if message is None:
            raise
        print(f"fraudwatch: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["app", "main"]
