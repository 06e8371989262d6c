"""Feature-state snapshot files: the scoring service's state saved with its source position.

``fraudwatch run`` and the Airflow DAG continue each other's card histories on the same
source, so both keep the state in ONE file per source
(``DATA_DIR/state/features-<hash of source_id>.pkl``): a pickle of ``{"position", "engine",
"labels"}`` — the position the state belongs to, and :meth:`ScoringService.snapshot
<fraudwatch.pipeline.service.ScoringService.snapshot>`. A run continues from it only when
it is consistent with the stored checkpoint (not after it); otherwise it starts cold. Files
are written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraudwatch.errors import FraudwatchError

if TYPE_CHECKING:
    from fraudwatch.pipeline.service import ScoringService

log = logging.getLogger(__name__)


class SnapshotMovedError(FraudwatchError, RuntimeError):
    """Another writer moved the feature snapshot on since this run read it."""


def state_file(state_dir: Path, source_id: str) -> Path:
    """Where the feature snapshot of a source lives in ``state_dir``."""
    name = hashlib.sha256(source_id.encode()).hexdigest()[:16]
    return state_dir / f"features-{name}.pkl"


def write_snapshot(path: Path, position: str | None, service: ScoringService) -> None:
    """Save the service's feature state with the position it belongs to (atomic rename)."""
    payload = {"position": position, **service.snapshot()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pickle.dumps(payload, protocol=5))
    temporary.replace(path)


def read_snapshot(path: Path | None) -> dict[str, Any] | None:
    """A snapshot file's contents (position and state), or None without a file."""
    if path is None or not path.is_file():
        return None
    payload = pickle.loads(path.read_bytes())  # our own file (see the module docstring)
    return payload if isinstance(payload, dict) else None


def snapshot_position(path: Path) -> str | None:
    """The position a snapshot file was taken at, or None without a usable file."""
    payload = read_snapshot(path)
    if payload is None or payload.get("position") is None:
        return None
    return str(payload["position"])


def usable_snapshot(path: Path | None, checkpoint: str | None) -> dict[str, Any] | None:
    """The saved feature state when it matches the checkpoint (not after it), else None."""
    if checkpoint is None:
        return None
    saved = read_snapshot(path)
    if saved is None:
        return None
    position = saved.get("position")
    if position is None or not _not_after(str(position), checkpoint):
        log.warning(
            "feature snapshot at %s is not usable with checkpoint %s; cold start",
            position,
            checkpoint,
        )
        return None
    return saved


def snapshot_at(path: Path, position: str) -> dict[str, Any]:
    """The state saved at exactly ``position`` (raises if the file moved on meanwhile)."""
    payload = read_snapshot(path)
    if payload is None or str(payload.get("position")) != position:
        raise SnapshotMovedError(
            f"feature snapshot {path} is no longer at position {position}; another writer "
            "moved it (is `fraudwatch run` reading the same feed?)"
        )
    return payload


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


def _not_after(position: str, checkpoint: str) -> bool:
    """Whether a snapshot position is at or before the stored checkpoint (numeric positions)."""
    try:
        return int(position) <= int(checkpoint)
    except ValueError:
        return position == checkpoint
