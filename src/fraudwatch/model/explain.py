"""Feature contributions along each tree's decision path (Saabas), for reasons in words.

Walking from a tree's root to the leaf a transaction lands in, every split moves the
node value; that move is credited to the split's feature. Summed over trees, the
contributions plus the roots' values equal the raw score exactly. The same quantities
as TreeSHAP in spirit, at the cost of one leaf lookup per tree instead of SHAP's
path-weight recursion — about a hundred times cheaper, so every flagged transaction can
be explained, even in a stream of tens of thousands per second.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from fraudwatch.model.registry import predict_options

FloatArray = npt.NDArray[np.float64]


class PathExplainer:
    """Per-leaf contribution vectors of a LightGBM model, precomputed once."""

    def __init__(self, booster: lgb.Booster, features: list[str]) -> None:
        self.features = features
        dump = booster.dump_model()
        position = {name: number for number, name in enumerate(dump["feature_names"])}
        self._columns = np.array([position[name] for name in features], dtype=np.int64)
        tables, bias = [], 0.0
        for tree in dump["tree_info"]:
            table, root = _leaf_contributions(tree, len(position))
            tables.append(table)
            bias += root
        self.bias = bias
        self._offsets = np.concatenate(([0], np.cumsum([len(t) for t in tables])))[:-1]
        self._table = np.concatenate(tables)
        self._booster = booster

    def contributions(self, rows: Any) -> FloatArray:
        """Contribution of each feature (columns in ``features`` order) to each row's raw score.

        ``rows``: a feature frame, or a float64 matrix whose columns are ``features``.
        """
        matrix = rows if isinstance(rows, np.ndarray) else rows[self.features].to_numpy(np.float64)
        options = predict_options(len(matrix))
        leaves = np.asarray(
            self._booster.predict(matrix, pred_leaf=True, **options), dtype=np.int64
        )
        leaves = leaves.reshape(len(rows), -1)
        total = np.zeros((len(rows), self._table.shape[1]))
        for tree, offset in enumerate(self._offsets):
            total += self._table[offset + leaves[:, tree]]
        return total[:, self._columns]


def _leaf_contributions(tree: dict[str, Any], n_features: int) -> tuple[FloatArray, float]:
    """For one tree: a (leaves × features) table of path contributions, and the root value."""
    structure = tree["tree_structure"]
    n_leaves = int(tree["num_leaves"])
    table = np.zeros((n_leaves, n_features))
    if "leaf_value" in structure:  # a single-leaf tree: a constant, no feature involved
        return table, float(structure["leaf_value"])
    root_value = float(structure["internal_value"])
    stack: list[tuple[dict[str, Any], FloatArray]] = [(structure, np.zeros(n_features))]
    while stack:
        node, path = stack.pop()
        value = float(node["internal_value"])
        for side in ("left_child", "right_child"):
            child = node[side]
            child_value = float(
                child["leaf_value"] if "leaf_index" in child else child["internal_value"]
            )
            child_path = path.copy()
            child_path[int(node["split_feature"])] += child_value - value
            if "leaf_index" in child:
                table[int(child["leaf_index"])] = child_path
            else:
                stack.append((child, child_path))
    return table, root_value
