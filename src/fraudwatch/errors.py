"""The root of every exception fraudwatch raises: :class:`FraudwatchError`.

One root lets a caller (the CLI, a DAG task, an embedding program) tell "fraudwatch
refused or could not do this" from a bug or a library's own failure with one ``except``.
Each project exception keeps its builtin base too (``class EvaluationError(FraudwatchError,
ValueError)``), so code that catches ``ValueError`` or ``FileNotFoundError`` keeps working.

A contract-layer module: it imports nothing from fraudwatch, so every layer may use it.
"""

from __future__ import annotations

__all__ = ["FraudwatchError"]


class FraudwatchError(Exception):
    """Base class of every exception defined in fraudwatch."""
