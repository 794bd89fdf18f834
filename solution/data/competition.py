"""Load and validate the competition files: the Kaggle zip, a folder, or explicit CSV paths.

Every problem with a file is raised as `DataError` with one line naming the file, the line and the
column, so the CLI can print it and exit 2 instead of showing a traceback.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from solution.errors import UserError

PIXELS = [f"pixel{i}" for i in range(784)]
TRAIN_COLUMNS = ["label", *PIXELS]
TEST_COLUMNS = PIXELS
SUBMISSION_COLUMNS = ["ImageId", "Label"]
KAGGLE_INPUT = Path("/kaggle/input/digit-recognizer")
FILES = ("train.csv", "test.csv", "sample_submission.csv")
NUM_CLASSES = 10  # the labels are the digits 0..9: every probability array has this many columns

HOW_TO_GET_DATA = (
    "Get the competition data with the Kaggle CLI: "
    "`kaggle competitions download -c digit-recognizer -p data/` "
    "(or download it from https://www.kaggle.com/competitions/digit-recognizer/data into data/), "
    "then run again, or pass DATA=path/to/digit-recognizer.zip"
)


class DataError(UserError):
    """A competition file is missing or malformed; the message is one line for the user."""


@dataclass(frozen=True)
class Competition:
    """The data every command works on; images are (N, 28, 28) uint8, white ink on black."""

    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) int64 in 0..9
    test_images: np.ndarray  # (M, 28, 28) uint8
    test_ids: np.ndarray  # (M,) int64, Kaggle's ImageId (1..M)
    sample_submission: pd.DataFrame | None  # ImageId, Label as Kaggle ships it
    source: str  # where it was read from, for run.json


def locate(data: str | os.PathLike | None) -> Path:
    """Resolve what the user passed (or nothing) to a zip file or a folder with the CSVs."""
    if data is None or str(data) == "":
        for candidate in (Path("data"), KAGGLE_INPUT):
            if _has_competition(candidate):
                return candidate
        raise DataError(f"no competition data in data/. {HOW_TO_GET_DATA}")
    path = Path(data)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder. {HOW_TO_GET_DATA}")
    if path.is_dir() and not _has_competition(path):
        raise DataError(f"{path}: folder has no train.csv/test.csv nor digit-recognizer.zip. "
                        f"{HOW_TO_GET_DATA}")
    return path


def _has_competition(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "train.csv").is_file() or
                                (folder / "digit-recognizer.zip").is_file())


@contextmanager
def _open_member(source: Path, name: str) -> Iterator[tuple[IO[bytes], str]]:
    """Open one of FILES from a zip or folder; yields (binary stream, display name)."""
    if source.is_dir() and not (source / name).is_file() and (
            source / "digit-recognizer.zip").is_file():
        source = source / "digit-recognizer.zip"
    if source.is_dir():
        path = source / name
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        with open(path, "rb") as stream:
            yield stream, str(path)
        return
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{source}: not a readable zip file ({exc})") from None
    with archive:
        members = {Path(m).name: m for m in archive.namelist() if not m.endswith("/")}
        if name not in members:
            raise DataError(f"{source}: no {name} inside the zip (has: "
                            f"{', '.join(sorted(members)) or 'nothing'})")
        with archive.open(members[name]) as stream:
            yield stream, f"{source}:{members[name]}"


def read_pixels_csv(stream: IO[bytes] | str | os.PathLike, display: str,
                    columns: list[str]) -> pd.DataFrame:
    """Read a train/test CSV and check every cell; returns an all-int64 frame."""
    try:
        frame = pd.read_csv(stream, engine="c")
    except pd.errors.EmptyDataError:
        raise DataError(f"{display}: file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{display}: malformed CSV ({_first_line(exc)})") from None
    except UnicodeDecodeError:
        raise DataError(f"{display}: not a text CSV file") from None
    header = list(frame.columns)
    if header != columns:
        raise DataError(f"{display}: {_header_problem(header, columns)}")
    if frame.empty:
        raise DataError(f"{display}: header only, no data rows")
    return _to_int(frame, display)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__


def _header_problem(header: list[str], expected: list[str]) -> str:
    if len(header) != len(expected):
        return f"header has {len(header)} columns, expected {len(expected)} ({expected[0]}, ...)"
    for position, (got, want) in enumerate(zip(header, expected, strict=True)):
        if got != want:
            return f"header column {position + 1} is {got!r}, expected {want!r}"
    return "unexpected header"  # pragma: no cover - unreachable when lists differ


def _to_int(frame: pd.DataFrame, display: str) -> pd.DataFrame:
    """All-int64 frame, or DataError naming the first bad cell (line numbers count the header).

    The C parser already gives int64 for a clean file, so only columns it could not type are
    inspected cell by cell.
    """
    problems: list[tuple[int, int, str]] = []  # (row, column index, message)
    for col, name in enumerate(frame.columns):
        series = frame[name]
        if pd.api.types.is_integer_dtype(series.dtype):
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        missing = series.isna() | series.astype(str).str.strip().eq("")
        not_number = numbers.isna() & ~missing
        fractional = numbers.notna() & (numbers != np.floor(numbers))
        for mask, message in ((missing, "missing value"), (not_number, "is not a number"),
                              (fractional, "is not a whole number")):
            if mask.any():
                row = int(np.argmax(mask.to_numpy()))
                text = message if message == "missing value" else f"{series.iloc[row]!r} {message}"
                problems.append((row, col, text))
    if problems:
        row, col, text = min(problems)
        raise DataError(f"{display}: line {row + 2}, column {frame.columns[col]}: {text}")
    return frame.apply(lambda column: pd.to_numeric(column).astype(np.int64))


def _check_range(values: np.ndarray, low: int, high: int, display: str, columns: list[str],
                 what: str) -> None:
    bad = (values < low) | (values > high)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{display}: line {row + 2}, column {columns[col]}: {what} "
                        f"{values[row, col]} is outside {low}..{high}")


def parse_train(frame: pd.DataFrame, display: str) -> tuple[np.ndarray, np.ndarray]:
    labels = frame["label"].to_numpy()
    pixels = frame[PIXELS].to_numpy()
    _check_range(labels[:, None], 0, 9, display, ["label"], "label")
    _check_range(pixels, 0, 255, display, PIXELS, "pixel")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def parse_test(frame: pd.DataFrame, display: str) -> np.ndarray:
    pixels = frame[PIXELS].to_numpy()
    _check_range(pixels, 0, 255, display, PIXELS, "pixel")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def read_sample_submission(stream: IO[bytes], display: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(stream)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{display}: unreadable ({_first_line(exc)})") from None
    if list(frame.columns) != SUBMISSION_COLUMNS:
        raise DataError(f"{display}: header is {list(frame.columns)}, "
                        f"expected {SUBMISSION_COLUMNS}")
    return frame


def load_competition(data: str | os.PathLike | None = None, *, train_csv: str | None = None,
                     test_csv: str | None = None, sample_csv: str | None = None) -> Competition:
    """Load train, test and (when present) sample_submission from a zip, a folder or CSV paths.

    Explicit CSV paths win over `data`; a folder may hold the CSVs or the Kaggle zip.
    """
    if train_csv or test_csv:
        if not (train_csv and test_csv):
            raise DataError("--train-csv and --test-csv must be given together")
        for path in (train_csv, test_csv, sample_csv):
            if path and not Path(path).is_file():
                raise DataError(f"{path}: file not found")
        explicit = {"train.csv": train_csv, "test.csv": test_csv,
                    "sample_submission.csv": sample_csv}
        return _load(lambda name: _open_path(explicit[name]), f"{train_csv}, {test_csv}",
                     has_sample=sample_csv is not None)
    source = locate(data)
    has_sample = _member_exists(source, "sample_submission.csv")
    return _load(lambda name: _open_member(source, name), str(source), has_sample)


@contextmanager
def _open_path(path: str | None) -> Iterator[tuple[IO[bytes], str]]:
    assert path is not None
    with open(path, "rb") as stream:
        yield stream, path


def _member_exists(source: Path, name: str) -> bool:
    try:
        with _open_member(source, name):
            return True
    except DataError:
        return False


def _load(opener, description: str, has_sample: bool) -> Competition:
    with opener("train.csv") as (stream, display):
        train_images, train_labels = parse_train(
            read_pixels_csv(stream, display, TRAIN_COLUMNS), display)
    with opener("test.csv") as (stream, display):
        test_images = parse_test(read_pixels_csv(stream, display, TEST_COLUMNS), display)
    sample = None
    if has_sample:
        with opener("sample_submission.csv") as (stream, display):
            sample = read_sample_submission(stream, display)
    test_ids = np.arange(1, len(test_images) + 1, dtype=np.int64)
    return Competition(train_images, train_labels, test_images, test_ids, sample, description)


def subset(comp: Competition, max_rows: int | None, seed: int = 0) -> Competition:
    """A stratified subset of the training rows (test rows untouched), for fast profiles."""
    if max_rows is None or max_rows >= len(comp.train_labels):
        return comp
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(comp.train_labels)), train_size=max_rows,
                               stratify=comp.train_labels, random_state=seed)
    keep = np.sort(keep)
    return Competition(comp.train_images[keep], comp.train_labels[keep], comp.test_images,
                       comp.test_ids, comp.sample_submission, comp.source)
