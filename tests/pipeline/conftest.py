"""Fixtures of the pipeline tests: the shared small model, stores on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.model.conftest import KEY, bundle, model_dir, split_files, train_frame

__all__ = ["KEY", "bundle", "model_dir", "split_files", "train_frame"]
