"""Class balance: counts per digit, and the oversamplers a baseline may be trained with.

Kaggle's train.csv is nearly balanced (3,795 to 4,684 rows per digit), so oversampling is measured
once rather than assumed to help; it only ever touches a fold's training rows.
"""

from __future__ import annotations

import numpy as np

OVERSAMPLERS = ("none", "random", "smote")


def class_counts(labels: np.ndarray) -> list[int]:
    """Rows per digit 0..9."""
    return np.bincount(np.asarray(labels, np.int64), minlength=10)[:10].tolist()


def balance_markdown(labels: np.ndarray, what: str) -> str:
    """A two-row markdown table of the counts, with the smallest/largest ratio under it."""
    counts = class_counts(labels)
    head = "| digit | " + " | ".join(str(d) for d in range(10)) + " |"
    rule = "|---" * 11 + "|"
    row = "| rows | " + " | ".join(f"{c:,}" for c in counts) + " |"
    low, high = min(counts), max(counts)
    return (f"{head}\n{rule}\n{row}\n\n{what}: {sum(counts):,} rows, {low:,} to {high:,} per "
            f"digit (smallest/largest {low / high:.2f}).\n")


def parse_oversamplers(text: str) -> tuple[str, ...]:
    """'none,smote' -> ('none', 'smote'); an unknown name is a one-line ValueError."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    bad = [n for n in names if n not in OVERSAMPLERS]
    if bad or not names:
        raise ValueError(f"--oversample {text!r}: choose from {', '.join(OVERSAMPLERS)}")
    return names


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
