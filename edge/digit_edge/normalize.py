"""MNIST-style normalisation: any image of one digit -> (28, 28) float32, white ink on black, 0..1.

MNIST itself was made this way: the ink's bounding box is fitted into 20x20 keeping the aspect
ratio, anti-aliased, then placed in the 28x28 frame so that its centre of mass falls on the
centre. Doing the same to a scan puts it where the model learned digits live. One addition:
strokes thinner than MNIST's (a fine pen on a big scan) are thickened before shrinking, because a
1 px pen line shrunk 5x becomes a faint smudge the model never saw.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .errors import ArrayError, BlankImageError
from .imaging import ImageLike, describe, load_gray, shrink, to_unit_range
from .ink import MASK_LEVEL, find_ink, label_components, max_pool

BOX = 20                # MNIST fits the digit's bounding box into 20x20...
FRAME = 28              # ...inside a 28x28 frame...
CENTRE = 14.0           # ...with the centre of mass at pixel (14, 14) (measured on Kaggle's train)
MNIST_STROKE = 2.2      # median stroke width of Kaggle's train digits, in 28x28 pixels
THIN_STROKE = 1.5       # below this (in 28x28 pixels) a stroke is thickened back to MNIST_STROKE
WORK_SIDE = 160         # a single-digit image is analysed at most this large (the model sees 20 px)
SOURCE_SIDE = 1280      # a small digit on a big page is re-cut from a copy at most this large,
RECUT_BELOW = 48        # ...when it spans under 48 px at WORK_SIDE (2.4x the 20 px it becomes)
SPECK_GRID = 48         # specks are found on a coarse grid at most this large: fast at any size
SPECK_FRACTION = 0.05   # a blob under 5% of the largest blob's area is noise, not part of a digit


def normalize(item: ImageLike, name: str | None = None) -> np.ndarray:
    """One image of one digit (path, PIL image, or array of any size) -> (28, 28) float32 0..1.

    The digit is found on a copy at most WORK_SIDE px; when it fills only part of a bigger page,
    its neighbourhood is cut from a sharper copy (at most SOURCE_SIDE px) and analysed again,
    so a small digit on a large scan keeps its detail.
    """
    name = name or describe(item)
    source, _ = load_gray(item, SOURCE_SIDE)
    gray = shrink(source, WORK_SIDE)
    factor = source.shape[1] / gray.shape[1]
    strength, keep = _digit_ink(gray, name)
    rows = np.flatnonzero(keep.any(axis=1))
    cols = np.flatnonzero(keep.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    if factor > 1.5 and extent < RECUT_BELOW:
        pad = 0.2 * extent + 2
        y0, y1 = (int(max(0, (rows[0] - pad) * factor)),
                  int(min(source.shape[0], (rows[-1] + 1 + pad) * factor)))
        x0, x1 = (int(max(0, (cols[0] - pad) * factor)),
                  int(min(source.shape[1], (cols[-1] + 1 + pad) * factor)))
        strength, keep = _digit_ink(shrink(source[y0:y1, x0:x1], WORK_SIDE), name)
    return fit_to_frame(strength, keep)


def _digit_ink(gray: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(ink strength without specks, the digit's mask) of a grey image holding one digit."""
    ink = find_ink(gray, name)
    keep = _without_specks(ink.mask)
    if not keep.any():
        raise BlankImageError(f"{name}: blank, only specks of noise found")
    return np.where(_grow(keep, ink.mask), ink.strength, 0.0).astype(np.float32), keep


def fit_to_frame(strength: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Crop to the mask's box, fit into 20x20 keeping aspect, centre by mass in 28x28.

    strength: (H, W) float32 0..1 ink (white on black); mask: (H, W) bool, the digit's pixels.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise BlankImageError("no ink to normalise")
    crop = strength[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    if max(crop.shape) > 2 * BOX:  # shrink to twice the target first: cheap stroke repair there
        factor = 2 * BOX / max(crop.shape)
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        crop = np.array(Image.fromarray(crop, "F").resize(size, Image.BOX), dtype=np.float32)
        crop /= max(float(crop.max()), 1e-6)
    scale = BOX / max(crop.shape)
    stroke = stroke_width(crop > MASK_LEVEL) * scale
    if stroke < THIN_STROKE:
        crop = _thicken(crop, (MNIST_STROKE - stroke) / scale)
        scale = BOX / max(crop.shape)
    height, width = crop.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(crop, "F").resize(size, Image.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0.0, None)
    peak = float(small.max())
    if peak <= 0:
        raise BlankImageError("no ink left after resizing")
    small /= peak
    return _place_by_mass(small)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: 2 * area / perimeter, which is exact for long thin strokes."""
    area = int(mask.sum())
    edges = (np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
             + mask[0].sum() + mask[-1].sum() + mask[:, 0].sum() + mask[:, -1].sum())
    return 2.0 * area / max(int(edges), 1)


def as_mnist_batch(array: np.ndarray, name: str = "array") -> np.ndarray:
    """An MNIST-convention array (N, 28, 28), (N, 28, 28, 1) or (28, 28) -> float32 (N, 28, 28).

    uint8 0-255 (or other integers 0-255) and floats 0-1 are accepted and used as they are, with
    no re-centring: they are assumed to be MNIST-normalised already.
    """
    shape = array.shape
    if array.ndim == 4 and shape[3] == 1:
        array = array[..., 0]
    elif array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (FRAME, FRAME):
        raise ArrayError(f"{name}: expected shape (N, 28, 28) or (N, 28, 28, 1) in MNIST "
                         f"convention, got {shape}; pass a list of images to have them normalised")
    if array.dtype.kind == "f":  # NaN rows are reported one by one by the reader, not here
        finite = np.where(np.isfinite(array), array, 0.0)
        return to_unit_range(finite, name)
    return to_unit_range(array, name)


def _without_specks(mask: np.ndarray) -> np.ndarray:
    """The mask minus blobs too small to be part of a digit, judged on a coarse grid for speed."""
    factor = max(1, -(-max(mask.shape) // SPECK_GRID))
    coarse = max_pool(mask, factor)
    labels, components = label_components(coarse)
    if not components:
        return np.zeros_like(mask)
    largest = max(c.area for c in components)
    dropped = [c.label for c in components if c.area < SPECK_FRACTION * largest]
    if not dropped:
        return mask
    drop = np.isin(labels, dropped)
    drop = np.repeat(np.repeat(drop, factor, axis=0), factor, axis=1)
    drop = drop[:mask.shape[0], :mask.shape[1]]
    return mask & ~drop


def _grow(keep: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Keep's pixels plus the faint anti-aliased rim around them (within one pixel)."""
    if keep is mask:
        return np.ones_like(mask)
    image = Image.fromarray(keep.astype(np.uint8) * 255, "L").filter(ImageFilter.MaxFilter(3))
    return np.asarray(image) > 0


def _thicken(crop: np.ndarray, extra: float) -> np.ndarray:
    """Widen strokes by about `extra` pixels (a grey-level dilation), padding so nothing is cut."""
    size = max(3, 2 * round(extra / 2) + 1)
    pad = size // 2
    padded = np.pad(crop, pad)
    image = Image.fromarray(padded, "F").filter(ImageFilter.MaxFilter(size))
    return np.asarray(image, dtype=np.float32)


def _place_by_mass(small: np.ndarray) -> np.ndarray:
    height, width = small.shape
    total = float(small.sum())
    cy = float((small.sum(axis=1) * np.arange(height)).sum()) / total
    cx = float((small.sum(axis=0) * np.arange(width)).sum()) / total
    top = min(max(round(CENTRE - cy), 0), FRAME - height)
    left = min(max(round(CENTRE - cx), 0), FRAME - width)
    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    frame[top:top + height, left:left + width] = small
    return frame
