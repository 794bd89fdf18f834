"""The Kaggle submission file: written atomically and checked before it replaces the old one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from solution.atomic import atomic_path
from solution.data.competition import SUBMISSION_COLUMNS
from solution.errors import UserError


class SubmissionError(UserError):
    """The predictions do not make a valid submission; nothing was written."""


def make_submission(test_ids: np.ndarray, test_probs: np.ndarray) -> pd.DataFrame:
    """`ImageId,Label` rows from probabilities (M, 10) in ImageId order."""
    return pd.DataFrame({"ImageId": test_ids.astype(np.int64),
                         "Label": test_probs.argmax(axis=1).astype(np.int64)})


def check_submission(frame: pd.DataFrame, sample: pd.DataFrame | None) -> None:
    """Raise SubmissionError unless the frame matches Kaggle's format (and the sample's ids)."""
    if list(frame.columns) != SUBMISSION_COLUMNS:
        raise SubmissionError(f"columns are {list(frame.columns)}, expected {SUBMISSION_COLUMNS}")
    if frame["Label"].isna().any() or not frame["Label"].between(0, 9).all():
        raise SubmissionError("labels must be digits 0..9")
    ids = frame["ImageId"].to_numpy()
    if not np.array_equal(ids, np.arange(1, len(frame) + 1)):
        raise SubmissionError("ImageId must run 1..N in order")
    if sample is not None and not np.array_equal(ids, sample["ImageId"].to_numpy()):
        raise SubmissionError(f"{len(ids)} ImageIds do not match sample_submission.csv's "
                              f"{len(sample)}")


def write_submission(frame: pd.DataFrame, path: Path, sample: pd.DataFrame | None) -> Path:
    check_submission(frame, sample)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path
