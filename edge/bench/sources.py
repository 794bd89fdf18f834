"""Source digits for the check sets: chosen rows of Kaggle's train.csv, or scikit-learn's digits.

Rows are chosen by index so a lead can pick rows the shipped model never trained on (the
interim model holds out rows 37800-41999; an exported CV ensemble saw every row of train.csv,
so its honest check set comes from scikit-learn's digits or another holdout).
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path

import numpy as np

DEFAULT_ZIP = Path(__file__).resolve().parents[3] / "shared/data/digit-recognizer.zip"


def parse_rows(text: str) -> list[int]:
    """"37800-41999,5,7" -> row indices (0-based rows of train.csv, header excluded)."""
    rows: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (int(v) for v in part.split("-"))
            rows += range(first, last + 1)
        elif part:
            rows.append(int(part))
    return rows


def kaggle_digits(path: Path, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 white-on-black digits and (N,) labels for the given train.csv rows."""
    wanted = set(rows)
    images, labels = {}, {}
    with zipfile.ZipFile(path) as archive, archive.open("train.csv") as stream:
        text = io.TextIOWrapper(stream)
        next(text)
        for index, line in enumerate(text):
            if index in wanted:
                values = np.array(line.split(","), dtype=np.int64)
                labels[index], images[index] = values[0], values[1:].reshape(28, 28)
    missing = wanted - set(images)
    if missing:
        raise SystemExit(f"{path}: train.csv has no rows {sorted(missing)[:5]}...")
    return (np.stack([images[r] for r in rows]).astype(np.uint8),
            np.array([labels[r] for r in rows]))


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 bundled 8x8 digits (0-16), as 28x28 uint8 by bicubic upscaling.

    Imported here, in a dev tool, never by digit_edge: the package must not need scikit-learn.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = []
    for small in bunch.images:
        pixels = (small / 16.0 * 255).astype(np.uint8)
        images.append(np.asarray(Image.fromarray(pixels).resize((20, 20), Image.BICUBIC)))
    framed = np.zeros((len(images), 28, 28), dtype=np.uint8)
    framed[:, 4:24, 4:24] = np.stack(images)
    return framed, bunch.target.astype(np.int64)


def load_source(source: str, rows: str, zip_path: Path) -> tuple[np.ndarray, np.ndarray]:
    if source == "sklearn":
        return sklearn_digits()
    return kaggle_digits(zip_path, parse_rows(rows))


def ink_crop(digit: np.ndarray) -> np.ndarray:
    """The digit's ink bounding box (values > 0)."""
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    return digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def write_labels(folder: Path, rows: list[tuple], header: tuple[str, ...] = ("file", "label")
                 ) -> None:
    """labels.csv as `digit-edge bench` reads it: a header, then one row per image."""
    with (folder / "labels.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def add_source_options(parser: argparse.ArgumentParser, source: str, rows: str) -> None:
    """--source, --rows, --zip and --out: where a bench set's digits come from and go to."""
    parser.add_argument("--source", choices=("kaggle", "sklearn"), default=source)
    parser.add_argument("--rows", default=rows, help="train.csv rows (--source kaggle)")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--out", type=Path, required=True)
