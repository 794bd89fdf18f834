"""Calibration data for static int8 quantization: a few hundred TRAINING images, never test ones.

Test images are what the model will be judged on; letting them set the activation ranges would
leak them into the exported model.
"""

from __future__ import annotations

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from export.convert import INPUT, to_input


def calibration_images(images: np.ndarray, labels: np.ndarray, count: int,
                       seed: int = 0) -> np.ndarray:
    """`count` training images, the same number from every class as far as possible.

    (count, 28, 28, 1) float32 in 0..1. Class balance keeps a rare digit's activations in range.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = int(np.ceil(count / len(classes)))
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    picked = rng.permutation(np.concatenate(chosen))[:count]
    return to_input(images[np.sort(picked)])


class ImageReader(CalibrationDataReader):
    """Feeds calibration images to onnxruntime's calibrator in equal batches.

    Equal, because the histogram calibrators (Entropy, Percentile) stack every batch of a tensor
    into one array: the largest batch size up to `max_batch` that divides the image count.
    """

    def __init__(self, images: np.ndarray, max_batch: int = 64) -> None:
        self.images = to_input(images)
        count = len(self.images)
        self.batch_size = max(d for d in range(1, max(1, min(max_batch, count)) + 1)
                              if count % d == 0)
        self.position = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= len(self.images):
            return None
        batch = self.images[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return {INPUT: batch}

    def rewind(self) -> None:
        self.position = 0
