"""The ``fraudwatch`` command: a thin front with one sub-command per job.

Every command parses its options, reads settings, and calls library functions; no logic
lives here that a DAG, the API or the dashboard would need too. Commands are grouped in
``data`` (simulate, validate), ``labels`` (load fraud labels), ``model`` (train, score,
evaluate) and ``live`` (feed, poll, run, serve, demo, db).
"""

from fraudwatch.cli import data, labels, live, model  # noqa: F401  (importing registers the commands)
from fraudwatch.cli.common import app


def main() -> None:
    """Entry point of the ``fraudwatch`` console script."""
    app()


__all__ = ["app", "main"]
