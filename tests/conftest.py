"""Shared fixtures: small competitions cut from the real Kaggle zip, never committed.

The real download lives in ../shared/data (DIGITS_ZIP overrides). Tests that need it are skipped
with a clear reason where it is absent; everything else builds its own data.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_ZIP = Path(os.environ.get("DIGITS_ZIP", REPO.parent / "shared" / "data" /
                                "digit-recognizer.zip"))


def _read_member(name: str, nrows: int) -> pd.DataFrame:
    with zipfile.ZipFile(REAL_ZIP) as archive, archive.open(name) as stream:
        return pd.read_csv(stream, nrows=nrows)


def write_competition_zip(path: Path, train: pd.DataFrame, test: pd.DataFrame) -> Path:
    """A zip laid out like Kaggle's download, sample_submission.csv included."""
    sample = pd.DataFrame({"ImageId": range(1, len(test) + 1), "Label": 0})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in (("train.csv", train), ("test.csv", test),
                            ("sample_submission.csv", sample)):
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            archive.writestr(name, buffer.getvalue())
    return path


@pytest.fixture(scope="session")
def real_zip() -> Path:
    if not REAL_ZIP.is_file():
        pytest.skip(f"the Kaggle download is not at {REAL_ZIP} (set DIGITS_ZIP)")
    return REAL_ZIP


@pytest.fixture(scope="session")
def small_frames(real_zip) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first 400 train rows and 120 test rows of the real competition."""
    return _read_member("train.csv", 400), _read_member("test.csv", 120)


@pytest.fixture(scope="session")
def small_zip(tmp_path_factory, small_frames) -> Path:
    train, test = small_frames
    return write_competition_zip(tmp_path_factory.mktemp("small") / "digit-recognizer.zip",
                                 train, test)


@pytest.fixture(autouse=True)
def float32_between_tests():
    """A command run in-process (`submit --precision auto`) sets Keras' global dtype policy;
    every test starts from float32 again, whatever the CPU chose for the one before."""
    yield
    if "keras" in sys.modules:
        from solution.training.precision import use_precision

        use_precision("float32")
