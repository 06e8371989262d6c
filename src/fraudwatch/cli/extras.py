"""Optional dependencies: a command that needs a missing one names the extra to install.

The core install (``pip install fraudwatch``) runs the pipeline on SQLite, trains, scores
and evaluates; the scoring API, the dashboard, PostgreSQL and Redis are extras of
``pyproject.toml``. Their imports are lazy, so a command that needs one fails at that
import; ``fraudwatch.cli.main`` turns the ``ModuleNotFoundError`` into the one line that
says what to install instead of a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

#: Third-party top-level module -> the extra of ``pyproject.toml`` that installs it.
EXTRA_OF_MODULE = {
    "fastapi": "api",
    "fastapi_offline": "api",
    "uvicorn": "api",
    "prometheus_client": "api",
    "streamlit": "dashboard",
    "plotly": "dashboard",
    "starlette": "dashboard",  # the API imports fastapi first, so this is the dashboard's
    "psycopg": "postgres",
    "redis": "redis",
}


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """The one-line message for an import that failed because an extra is not installed.

    None when the missing module is not one of an extra's (a broken install, a bug): that
    error keeps its traceback.
    """
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return (
        f"this command needs the optional '{extra}' dependencies ({module} is not "
        f"installed): pip install 'fraudwatch[{extra}]'"
    )


def require_extra(extra: str) -> None:
    """Raise ``ModuleNotFoundError`` (which ``main`` words) unless ``extra`` is installed.

    For work started in another process (the demo's dashboard), whose import error would
    otherwise only reach its log file.
    """
    for module, needed_by in EXTRA_OF_MODULE.items():
        if needed_by == extra and find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
