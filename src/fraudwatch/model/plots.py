"""Report pictures: precision-recall curves and score distributions (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve


def plot_pr_curves(labels: np.ndarray, curves: dict[str, np.ndarray], path: Path) -> Path:
    """Precision-recall curve of each named score, with its AP in the legend."""
    figure, axes = plt.subplots(figsize=(6.5, 5))
    for name, scores in curves.items():
        precision, recall, _ = precision_recall_curve(labels, scores)
        axes.step(
            recall,
            precision,
            where="post",
            label=f"{name} (AP {average_precision_score(labels, scores):.3f})",
        )
    axes.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_score_distributions(
    labels: np.ndarray, scores: np.ndarray, threshold: float, path: Path
) -> Path:
    """Histograms of the fraud probability for legitimate and fraudulent rows (log counts)."""
    figure, axes = plt.subplots(figsize=(6.5, 4))
    bins = [step / 50 for step in range(51)]
    axes.hist(scores[labels == 0], bins=bins, alpha=0.6, label="legitimate", log=True)
    axes.hist(scores[labels == 1], bins=bins, alpha=0.6, label="fraud", log=True)
    if np.isfinite(threshold):
        axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    axes.set(xlabel="fraud probability", ylabel="transactions (log)", title="Score distribution")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
