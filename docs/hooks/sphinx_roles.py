"""MkDocs hook: Sphinx roles in docstrings (``:class:`X```) read as plain code on the site.

The docstrings are written for readers of the source, in reST roles; mkdocstrings renders
them as Markdown, which leaves the role's name in front of the code (":class:Store"). This
drops the role and the ``~`` that asks Sphinx for the short name.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|const):(<code>)~?")


def strip_roles(html: str) -> str:
    """``html`` without the Sphinx role names in front of inline code."""
    return ROLE.sub(r"\1", html)


def on_page_content(html: str, **_: Any) -> str:
    """Strip the roles from every rendered page (only docstrings have them)."""
    return strip_roles(html)
