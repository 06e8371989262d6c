"""Every exception fraudwatch defines derives from :class:`fraudwatch.errors.FraudwatchError`."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import pytest

import fraudwatch
from fraudwatch.errors import FraudwatchError
from fraudwatch.model.evaluate import EvaluationError
from fraudwatch.model.registry import ModelNotFoundError

#: Modules that run a program when imported, so the walk reads them instead (they must
#: define no class at all; see the test below).
SCRIPTS = {
    "fraudwatch.__main__": "runs the command line",
    "fraudwatch.dashboard.__main__": "parses sys.argv and serves the dashboard",
    "fraudwatch.dashboard.webapp.app": "the Streamlit script: draws the page",
    "fraudwatch.migrations.env": "Alembic's env script: needs a running migration context",
}
#: Exceptions allowed outside the root, each with its reason. Empty: keep it so.
EXEMPT: dict[str, str] = {}


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def _all_fraudwatch_exceptions() -> list[type[BaseException]]:
    for info in pkgutil.walk_packages(fraudwatch.__path__, "fraudwatch."):
        if info.name not in SCRIPTS:
            importlib.import_module(info.name)
    found: list[type[BaseException]] = []
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == "fraudwatch" and not issubclass(cls, Warning):
            found.append(cls)
    return found


def test_every_fraudwatch_exception_derives_from_the_root() -> None:
    exceptions = _all_fraudwatch_exceptions()
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in exceptions}
    # the walk did reach the whole package (a walk that imports nothing would pass)
    assert {
        "fraudwatch.sources.feed_client.FeedError",
        "fraudwatch.api.scoring.ContractError",
        "fraudwatch.dashboard.labels.LabelError",
        "fraudwatch.orchestration.remote.ScoringApiError",
    } <= names
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in exceptions
        if not issubclass(cls, FraudwatchError)
        and f"{cls.__module__}.{cls.__qualname__}" not in EXEMPT
    )
    assert outside == [], f"derive these from fraudwatch.errors.FraudwatchError: {outside}"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_modules_the_walk_does_not_import_define_no_class(name: str) -> None:
    tree = ast.parse(_module_file(name).read_text(encoding="utf-8"))
    assert not [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_builtin_bases_are_kept() -> None:
    """``except ValueError`` / ``except FileNotFoundError`` still catch what they caught."""
    assert issubclass(EvaluationError, ValueError)
    assert issubclass(ModelNotFoundError, FileNotFoundError)
    with pytest.raises(FraudwatchError):
        raise ModelNotFoundError("no champion")


def test_the_root_module_imports_nothing_from_fraudwatch() -> None:
    source = inspect.getsource(importlib.import_module("fraudwatch.errors"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("fraudwatch")]
