"""Logging set-up: one handler on the root logger, with card numbers masked in every line."""

from __future__ import annotations

import logging
import sys

from fraudwatch.privacy import PanRedactingFilter

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send all logs (ours and libraries') to stderr through the PAN-redacting filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_fraudwatch", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(PanRedactingFilter())
    handler._fraudwatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("fraudwatch").setLevel(level)
