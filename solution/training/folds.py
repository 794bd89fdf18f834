"""The one 5-fold stratified split that every command (submit, tune, export, baselines) shares."""

from __future__ import annotations

import numpy as np

N_FOLDS = 5
FOLD_SEED = 2026  # fixed: changing it changes every OOF figure and invalidates saved runs


def stratified_folds(labels: np.ndarray, n_folds: int = N_FOLDS,
                     seed: int = FOLD_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(train_index, val_index)] per fold; disjoint validation sets that cover every row."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(train, val) for train, val in splitter.split(np.zeros(len(labels)), labels)]
