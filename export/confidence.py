"""A recommended reject threshold for the edge: the lowest top probability worth trusting."""

from __future__ import annotations

import numpy as np


def recommend_min_confidence(probs: np.ndarray, labels: np.ndarray, target: float = 0.999,
                             min_share: float = 0.9, grid: int = 100,
                             ) -> tuple[float, float, float, bool]:
    """(threshold, accuracy of accepted, share accepted, reached) on out-of-fold predictions.

    The smallest top-probability threshold on a 1/grid grid at which the accepted images reach
    `target` accuracy while at least `min_share` of them are accepted. When no threshold does
    (a weak model), 0.0 with reached=False: rejecting most digits is no recommendation.
    """
    top = probs.max(1)
    right = probs.argmax(1) == labels
    for step in range(grid):
        threshold = step / grid
        accepted = top >= threshold
        if accepted.mean() < min_share:
            break
        if right[accepted].mean() >= target:
            return threshold, float(right[accepted].mean()), float(accepted.mean()), True
    return 0.0, float(right.mean()), 1.0, False
