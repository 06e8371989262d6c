"""The README stays true: every feature and every command it promises is documented."""

from __future__ import annotations

from pathlib import Path

from fraudwatch.features import FEATURES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_feature_is_in_the_readme_table() -> None:
    for feature in FEATURES:
        assert f"| `{feature.name}` | {feature.kind} |" in README, feature.name


def test_the_two_commands_open_the_readme() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
