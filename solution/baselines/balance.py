"""Class balance: counts per digit, and the oversamplers a baseline may be trained with.

Kaggle's train.csv is nearly balanced (3,795 to 4,684 rows per digit), so oversampling is measured
once rather than assumed to help; it only ever touches a fold's training rows.
"""

from __future__ import annotations

import numpy as np

from solution.data.competition import NUM_CLASSES
from solution.reporting.tables import Column, Table

OVERSAMPLERS = ("none", "random", "smote")


def class_counts(labels: np.ndarray) -> list[int]:
    """Rows per digit 0..9."""
    return np.bincount(np.asarray(labels, np.int64), minlength=NUM_CLASSES)[:NUM_CLASSES].tolist()


def balance_table(labels: np.ndarray) -> Table:
    """One row of counts, digits across, so the table stays short beside the baselines."""
    return Table((Column("digit"), *(Column(str(d)) for d in range(NUM_CLASSES))),
                 [("rows", *(f"{c:,}" for c in class_counts(labels)))])


def balance_note(labels: np.ndarray, what: str) -> str:
    """The line under the table: the smallest/largest ratio says at a glance how balanced."""
    counts = class_counts(labels)
    low, high = min(counts), max(counts)
    return (f"{what}: {sum(counts):,} rows, {low:,} to {high:,} per digit "
            f"(smallest/largest {low / high:.2f}).")


def balance_markdown(labels: np.ndarray, what: str) -> str:
    """A two-row markdown table of the counts, with the smallest/largest ratio under it."""
    return f"{balance_table(labels).markdown()}\n\n{balance_note(labels, what)}\n"


def oversample(features: np.ndarray, labels: np.ndarray, method: str,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training rows resampled so every digit has as many rows as the largest one.

    'random' repeats rows; 'smote' interpolates between a row and one of its 5 nearest
    same-digit neighbours (imbalanced-learn). 'none' returns the input unchanged.
    """
    if method == "none":
        return features, labels
    try:
        from imblearn.over_sampling import SMOTE, RandomOverSampler
    except ImportError:
        raise ValueError(f"--oversample {method} needs imbalanced-learn: "
                         "pip install -e '.[baselines]'") from None
    sampler = (RandomOverSampler(random_state=seed) if method == "random"
               else SMOTE(k_neighbors=5, random_state=seed))
    return sampler.fit_resample(features, labels)
