"""An offline stand-in for the Kaggle download, made from the digits scikit-learn ships.

scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels) are smoothed up and normalised the
way MNIST was made (the edge package's own normalisation: ink box fitted into 20x20, centred by
mass in 28x28), then split into train.csv (with labels), test.csv (without) and
sample_submission.csv inside a zip laid out like Kaggle's. The test labels are kept aside in
test_labels.csv so the demo can score its own submission.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solution.atomic import atomic_path, write_text

TEST_SHARE = 0.3
SPLIT_SEED = 7


@dataclass(frozen=True)
class DemoData:
    zip_path: Path  # Kaggle-layout zip: train.csv, test.csv, sample_submission.csv
    test_labels_path: Path  # ImageId,Label of the held-out test rows
    images_dir: Path  # a few test digits rendered as PNG scans (dark ink on light paper)
    train_rows: int
    test_rows: int


def mnist_style_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (N, 28, 28) uint8 in MNIST convention, and their labels."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from digit_edge.normalize import normalize

    digits = load_digits()
    images = np.empty((len(digits.images), 28, 28), np.uint8)
    for i, small in enumerate(digits.images):
        # 8x8 -> 64x64 bicubic first, so the 20x20 fit has smooth strokes to work with
        big = Image.fromarray((small / 16.0 * 255).astype(np.uint8)).resize((64, 64),
                                                                           Image.BICUBIC)
        images[i] = np.round(normalize(np.asarray(big)) * 255).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def _csv(header: list[str], rows: np.ndarray) -> str:
    buffer = io.StringIO()
    buffer.write(",".join(header) + "\n")
    np.savetxt(buffer, rows, fmt="%d", delimiter=",")
    return buffer.getvalue()


def build_demo_competition(out_dir: Path, scans: int = 8) -> DemoData:
    """Write the demo competition into `out_dir` (zip, held-out labels, a few PNG scans)."""
    from sklearn.model_selection import train_test_split

    out_dir = Path(out_dir)
    images, labels = mnist_style_digits()
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE,
                                           stratify=labels, random_state=SPLIT_SEED)
    pixels = [f"pixel{i}" for i in range(784)]
    flat = images.reshape(len(images), -1).astype(np.int64)
    train = np.column_stack([labels[train_idx], flat[train_idx]])
    ids = np.arange(1, len(test_idx) + 1)
    zip_path = out_dir / "digit-recognizer.zip"
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", _csv(["label", *pixels], train))
        archive.writestr("test.csv", _csv(pixels, flat[test_idx]))
        archive.writestr("sample_submission.csv",
                         _csv(["ImageId", "Label"], np.column_stack([ids, np.zeros_like(ids)])))
    labels_path = write_text(out_dir / "test_labels.csv",
                             _csv(["ImageId", "Label"], np.column_stack([ids, labels[test_idx]])))
    images_dir = render_scans(images[test_idx[:scans]], labels[test_idx[:scans]],
                              out_dir / "scans")
    return DemoData(zip_path, labels_path, images_dir, len(train_idx), len(test_idx))


def render_scans(images: np.ndarray, labels: np.ndarray, folder: Path) -> Path:
    """Dark-on-light PNGs at 4x size with a paper margin, as a scanner would deliver them."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file,label"]
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        paper = np.full((40, 40), 255, np.uint8)
        paper[6:34, 6:34] = 255 - image
        name = f"scan{i:02d}.png"
        scan = Image.fromarray(paper).resize((160, 160), Image.BICUBIC)
        with atomic_path(folder / name) as tmp:
            scan.save(tmp, format="PNG")
        lines.append(f"{name},{label}")
    write_text(folder / "labels.csv", "\n".join(lines) + "\n")
    return folder


def score_submission(submission_csv: Path, labels_csv: Path) -> float:
    """Accuracy of a submission against the demo's held-out test labels."""
    import pandas as pd

    predicted = pd.read_csv(submission_csv).set_index("ImageId")["Label"]
    truth = pd.read_csv(labels_csv).set_index("ImageId")["Label"]
    return float((predicted.reindex(truth.index) == truth).mean())
