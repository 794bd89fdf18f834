"""Fixtures for digit_edge: real digits from the Kaggle zip, rendered as scans and as fields.

The zip lives in ../shared/data next to the repo (DIGITS_ZIP overrides); tests needing it are
skipped with a reason where it is absent. The reader is built once per session: opening an
onnxruntime session is the slow part.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_ZIP = Path(os.environ.get("DIGITS_ZIP", REPO.parent / "shared" / "data" /
                                "digit-recognizer.zip"))


@pytest.fixture(scope="session")
def edge_zip() -> Path:
    if not REAL_ZIP.is_file():
        pytest.skip(f"the Kaggle download is not at {REAL_ZIP} (set DIGITS_ZIP)")
    return REAL_ZIP


@pytest.fixture(scope="session")
def train_digits(edge_zip) -> tuple[np.ndarray, np.ndarray]:
    """The first 300 rows of train.csv: (300, 28, 28) uint8 white-on-black and (300,) labels."""
    with zipfile.ZipFile(edge_zip) as archive, archive.open("train.csv") as stream:
        table = np.loadtxt(io.TextIOWrapper(stream), delimiter=",", skiprows=1, max_rows=300,
                           dtype=np.int64)
    return table[:, 1:].reshape(-1, 28, 28).astype(np.uint8), table[:, 0]


@pytest.fixture(scope="session")
def reader():
    from digit_edge import DigitReader

    return DigitReader(threads=1)
