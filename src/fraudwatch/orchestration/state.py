"""Per-card feature state between DAG runs, in the streaming runner's own snapshot files.

Every DAG run is a new process, so without help each minute would score with empty card
histories and the history features would say nothing. The state after a run is saved
with the source position it belongs to, in the file ``fraudwatch run`` keeps for the same
source (``DATA_DIR/state/features-<hash of source_id>.pkl``, a pickle of ``{"position",
"engine"}``), and the next run continues from it when it is consistent with the stored
checkpoint: its position is not after the checkpoint. Otherwise the run starts cold.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path
from typing import Any

from fraudwatch.features import FeatureReference, OnlineFeatures


def state_file(state_dir: Path, source_id: str) -> Path:
    """The snapshot file of a source (the name :class:`~fraudwatch.pipeline.runner.Runner` uses)."""
    name = hashlib.sha256(source_id.encode()).hexdigest()[:16]
    return state_dir / f"features-{name}.pkl"


def snapshot_position(path: Path) -> str | None:
    """The position a snapshot file was taken at, or None without a usable file."""
    payload = _read(path)
    if payload is None or payload.get("position") is None:
        return None
    return str(payload["position"])


def load_engine(path: Path, position: str, reference: FeatureReference) -> OnlineFeatures:
    """The feature state saved at ``position`` (raises if the file moved on meanwhile)."""
    payload = _read(path)
    if payload is None or str(payload.get("position")) != position:
        raise RuntimeError(
            f"feature snapshot {path} is no longer at position {position}; another writer "
            "moved it (is `fraudwatch run` reading the same feed?)"
        )
    return OnlineFeatures.restore(payload["engine"], reference)


def write_snapshot(path: Path, position: str, engine: OnlineFeatures) -> None:
    """Save the state with its position (write a temporary file, then rename: atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(
        pickle.dumps({"position": position, "engine": engine.snapshot()}, protocol=5)
    )
    temporary.replace(path)


def install_snapshot(staged: Path, target: Path) -> bool:
    """Make a staged snapshot the source's current one (atomic on the target's filesystem)."""
    if not staged.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    shutil.copyfile(staged, temporary)
    temporary.replace(target)
    staged.unlink()
    return True


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    payload = pickle.loads(path.read_bytes())  # our own file (see the module docstring)
    return payload if isinstance(payload, dict) else None
