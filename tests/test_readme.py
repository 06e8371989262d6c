"""The README stays a true one-page introduction; the documentation lives on the site (docs/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: What the README may grow to: everything longer belongs on a page of the site.
README_LIMIT = 10_000


def test_the_two_commands_open_the_readme() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_the_readme_stays_short() -> None:
    assert len(README) <= README_LIMIT, (
        f"README.md has {len(README):,} characters (limit {README_LIMIT:,}): move the "
        "details to a page under docs/"
    )


def test_every_link_of_the_readme_resolves() -> None:
    targets = re.findall(r"\]\(([^)]+)\)", README)
    local = [t for t in targets if not t.startswith(("http://", "https://", "#"))]
    assert any(t.startswith("docs/") and t.endswith(".md") for t in local)
    for target in local:
        path = ROOT / target.partition("#")[0]
        assert path.is_file(), f"README links to {target}, which does not exist"


def test_the_readme_links_no_file_outside_the_repository() -> None:
    assert "../" not in README and "DESIGN.md" not in README


def test_the_readme_shows_the_dashboard_and_the_status_table() -> None:
    assert "](docs/dashboard.png)" in README
    assert "## What works today" in README and "| stage | module | status |" in README


def test_the_readme_sends_documentation_to_the_site() -> None:
    assert "Documentation goes to the site" in README
