"""The scoring API: FastAPI over the shared scoring service (``fraudwatch serve``)."""

from fraudwatch.api.app import create_app

__all__ = ["create_app"]
