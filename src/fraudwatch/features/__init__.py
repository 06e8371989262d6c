"""One definition of every feature, computed by two engines that agree: batch and online."""

from fraudwatch.features.batch import compute_features
from fraudwatch.features.definitions import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    FEATURES_BY_NAME,
    STATIC_FEATURE_NAMES,
    Feature,
)
from fraudwatch.features.online import OnlineFeatures
from fraudwatch.features.static import FeatureReference

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "FEATURES_BY_NAME",
    "FEATURE_NAMES",
    "STATIC_FEATURE_NAMES",
    "Feature",
    "FeatureReference",
    "OnlineFeatures",
    "compute_features",
]
