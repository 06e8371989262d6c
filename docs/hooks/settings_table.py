"""MkDocs hook: the configuration page's table, generated from ``fraudwatch.config.Settings``.

The page holds a marker; at build time it becomes ``settings_table()``, so a setting added,
renamed or re-described in the code is documented by the next build, and the page cannot
drift. A configuration page without the marker fails the build (the table would silently
vanish otherwise).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- settings-table -->"
PAGE = "configuration.md"


def on_config(config: Any) -> Any:
    """Import fraudwatch from this checkout's ``src/`` (not from whatever is installed)."""
    src = str(Path(config.config_file_path).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return config


def render(markdown: str) -> str:
    """``markdown`` with the marker replaced by the settings table."""
    from fraudwatch.config import settings_table

    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its {MARKER} marker: the settings table has no place")
    return markdown.replace(MARKER, settings_table())


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Render the table into the configuration page; leave every other page alone."""
    if page.file.src_uri == PAGE:
        return render(markdown)
    return markdown
