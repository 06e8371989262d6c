"""Model artifacts on disk: one folder per trained model, everything needed to score.

A model folder holds ``model.txt`` (LightGBM, all features), ``baseline.txt`` (the same
learner on static features only, so every report shows what history adds),
``reference.json`` (the feature reference statistics) and ``metadata.json`` (version,
features, training window, validation metrics, threshold, calibration, library versions,
data hash).
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from fraudwatch.errors import FraudwatchError
from fraudwatch.features import FeatureReference

MODEL_FILE = "model.txt"
BASELINE_FILE = "baseline.txt"
REFERENCE_FILE = "reference.json"
METADATA_FILE = "metadata.json"


class ModelNotFoundError(FraudwatchError, FileNotFoundError):
    """The model folder does not exist or lacks a file a trained model always has."""


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a booster's raw margin: p = 1 / (1 + exp(-(slope * margin + intercept)))."""

    slope: float
    intercept: float

    def apply(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw margins (monotone, so ranking is unchanged)."""
        z = np.clip(self.slope * margin + self.intercept, -50.0, 50.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass
class ScoringModel:
    """One trained learner: booster, its feature columns, calibration and decision threshold."""

    booster: lgb.Booster
    features: list[str]
    calibration: Calibration
    threshold: float

    def probability(self, features: Any) -> np.ndarray:
        """Calibrated fraud probability of each row of a feature frame (or of a float64
        matrix whose columns are already :attr:`features`, in order)."""
        matrix = features if isinstance(features, np.ndarray) else feature_matrix(features, self)
        margin = self.booster.predict(matrix, raw_score=True, **predict_options(len(matrix)))
        return self.calibration.apply(np.asarray(margin, dtype=np.float64))


#: Below this many rows LightGBM predicts on one thread: waking a thread pool costs more
#: (milliseconds on a busy machine) than the trees. Results do not depend on threads.
SINGLE_THREAD_ROWS = 64


def predict_options(rows: int) -> dict[str, Any]:
    """Keyword arguments for ``Booster.predict`` on ``rows`` rows."""
    return {"num_threads": 1} if rows < SINGLE_THREAD_ROWS else {}


def feature_matrix(features: Any, learner: ScoringModel) -> np.ndarray:
    """The learner's columns of a feature frame as the float64 matrix LightGBM would make of it.

    (LightGBM converts a frame of float columns to exactly this array itself, with a few
    hundred microseconds of pandas overhead per call.)
    """
    return np.asarray(features[learner.features].to_numpy(dtype=np.float64))


@dataclass
class ModelBundle:
    """Everything scoring needs: the model, the static-only baseline, reference, metadata."""

    model: ScoringModel
    baseline: ScoringModel
    reference: FeatureReference
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model's version id (also in metadata.json)."""
        return str(self.metadata.get("version", "unknown"))


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, recorded in its metadata."""
    versions = {"python": platform.python_version()}
    for name in ("fraudwatch", "lightgbm", "numpy", "pandas", "scikit-learn"):
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _json_ready(value: Any) -> Any:
    """Metadata with NaN/inf turned into null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def save_bundle(bundle: ModelBundle, model_dir: Path) -> Path:
    """Write a model folder (created if needed); returns the folder."""
    model_dir.mkdir(parents=True, exist_ok=True)
    bundle.model.booster.save_model(str(model_dir / MODEL_FILE))
    bundle.baseline.booster.save_model(str(model_dir / BASELINE_FILE))
    (model_dir / REFERENCE_FILE).write_text(bundle.reference.to_json(), encoding="utf-8")
    metadata = dict(bundle.metadata)
    metadata["model"] = _learner_metadata(bundle.model)
    metadata["baseline"] = _learner_metadata(bundle.baseline)
    (model_dir / METADATA_FILE).write_text(
        json.dumps(_json_ready(metadata), indent=2, sort_keys=False), encoding="utf-8"
    )
    return model_dir


def _learner_metadata(learner: ScoringModel) -> dict[str, Any]:
    return {
        "features": learner.features,
        "threshold": learner.threshold,
        "calibration": {
            "slope": learner.calibration.slope,
            "intercept": learner.calibration.intercept,
        },
        "trees": learner.booster.num_trees(),
    }


def load_bundle(model_dir: Path) -> ModelBundle:
    """Read a model folder written by :func:`save_bundle`."""
    missing = [
        name
        for name in (MODEL_FILE, BASELINE_FILE, REFERENCE_FILE, METADATA_FILE)
        if not (model_dir / name).is_file()
    ]
    if missing:
        raise ModelNotFoundError(
            f"{model_dir} is not a trained model folder (missing {', '.join(missing)}); "
            "train one with `fraudwatch train --data TRAIN.csv --model-dir DIR`"
        )
    metadata: dict[str, Any] = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    reference = FeatureReference.from_json((model_dir / REFERENCE_FILE).read_text(encoding="utf-8"))
    return ModelBundle(
        model=_learner(model_dir / MODEL_FILE, metadata["model"]),
        baseline=_learner(model_dir / BASELINE_FILE, metadata["baseline"]),
        reference=reference,
        metadata=metadata,
    )


def _learner(path: Path, learner: dict[str, Any]) -> ScoringModel:
    calibration = learner["calibration"]
    return ScoringModel(
        booster=lgb.Booster(model_file=str(path)),
        features=list(learner["features"]),
        calibration=Calibration(float(calibration["slope"]), float(calibration["intercept"])),
        threshold=float(learner["threshold"]),
    )


CHAMPION_FILE = "CHAMPION"


def models_root(data_dir: Path) -> Path:
    """The folder holding one sub-folder per trained model."""
    return data_dir / "models"


def champion_dir(data_dir: Path) -> Path:
    """The current champion model's folder (named in ``models/CHAMPION``)."""
    root = models_root(data_dir)
    marker = root / CHAMPION_FILE
    if not marker.is_file():
        raise ModelNotFoundError(
            f"no champion model under {root}: train one with `fraudwatch train --data TRAIN.csv` "
            "(the first model trained becomes the champion) or pass --model-dir"
        )
    return root / marker.read_text(encoding="utf-8").strip()


def promote(model_dir: Path, data_dir: Path) -> Path:
    """Make ``model_dir`` (a folder under ``models/``) the champion; returns its path."""
    root = models_root(data_dir).resolve()
    folder = model_dir.resolve()
    if folder.parent != root:
        raise ValueError(f"a champion must live directly under {root}, not {folder}")
    load_bundle(folder)  # refuse to promote something that is not a model
    temporary = root / (CHAMPION_FILE + ".tmp")
    temporary.write_text(folder.name + "\n", encoding="utf-8")
    temporary.replace(root / CHAMPION_FILE)
    return folder
