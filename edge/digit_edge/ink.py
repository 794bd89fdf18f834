"""Find the ink on a grey image: polarity, background removal, and connected components.

Everything here works on small grey float32 arrays (see imaging.py), with numpy only: no scipy,
no OpenCV, so the package stays a three-dependency install.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import BlankImageError

MIN_CONTRAST = 0.08   # ink must differ from the paper by 8% of full scale to count as ink
NOISE_SIGMAS = 4.0    # ...and by 4 noise standard deviations of the paper, measured on the border
MASK_LEVEL = 0.35     # a pixel with 35% of the stroke core's strength is on the stroke


@dataclass(frozen=True)
class Ink:
    """Ink strength (H, W) float32 0..1 (white-on-black, MNIST polarity) and its binary mask."""

    strength: np.ndarray
    mask: np.ndarray
    dark_on_light: bool  # the polarity that was detected, for diagnostics


def find_ink(gray: np.ndarray, name: str = "image") -> Ink:
    """Detect polarity, subtract the paper, and scale the stroke core to 1.

    The paper is whatever the border mostly shows (its median); the ink is the side of the paper
    level with more far-off pixels, so dark-on-light and light-on-dark both work, on any paper
    shade. Raises BlankImageError when nothing stands out from the paper's noise.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    noise = 1.4826 * float(np.median(np.abs(border - paper)))
    threshold = max(MIN_CONTRAST, NOISE_SIGMAS * noise)
    darker = paper - gray
    dark_count = int(np.count_nonzero(darker > threshold))
    light_count = int(np.count_nonzero(darker < -threshold))
    if dark_count == 0 and light_count == 0:
        raise BlankImageError(f"{name}: blank, no ink found")
    dark_on_light = dark_count >= light_count
    signed = darker if dark_on_light else -darker
    ink_pixels = signed[signed > threshold]
    k = int(0.9 * (ink_pixels.size - 1))
    full = float(np.partition(ink_pixels, k)[k])  # the stroke core, robust to a few extreme pixels
    strength = np.clip((signed - threshold) / max(full - threshold, 1e-3), 0.0, 1.0)
    return Ink(strength.astype(np.float32), strength > MASK_LEVEL, dark_on_light)


@dataclass(frozen=True)
class Component:
    """One connected blob of ink: its label, pixel count and box (x0, y0, x1, y1)."""

    label: int
    area: int
    box: tuple[int, int, int, int]  # x1, y1 exclusive


def label_components(mask: np.ndarray) -> tuple[np.ndarray, list[Component]]:
    """8-connected components of a boolean mask: (labels (H, W) int32, 0 = background; components).

    Label propagation with pointer jumping: every "on" pixel repeatedly takes the smallest label
    among its neighbours, and labels then follow their own labels to the root. Converges in a
    few dozen vectorised passes even for long strokes.
    """
    height, width = mask.shape
    padded = np.zeros((height + 2, width + 2), dtype=bool)
    padded[1:-1, 1:-1] = mask
    big = np.int64(padded.size)
    ids = np.arange(padded.size, dtype=np.int64).reshape(padded.shape)
    labels = np.where(padded, ids, big)
    flat_on = np.flatnonzero(padded)
    if flat_on.size == 0:
        return np.zeros(mask.shape, dtype=np.int32), []
    while True:
        # min over the 3x3 neighbourhood, separably: rows, then columns (border stays `big`)
        rows = labels.copy()
        np.minimum(rows[1:-1], labels[:-2], out=rows[1:-1])
        np.minimum(rows[1:-1], labels[2:], out=rows[1:-1])
        smallest = rows.copy()
        np.minimum(smallest[:, 1:-1], rows[:, :-2], out=smallest[:, 1:-1])
        np.minimum(smallest[:, 1:-1], rows[:, 2:], out=smallest[:, 1:-1])
        smallest = np.where(padded, smallest, big)
        flat = labels.ravel()
        new = flat.copy()
        # hook: the root a pixel points at adopts the smaller label too
        np.minimum.at(new, flat[flat_on], smallest.ravel()[flat_on])
        new[flat_on] = np.minimum(new[flat_on], smallest.ravel()[flat_on])
        while True:  # pointer jumping to the roots
            jumped = new.copy()
            jumped[flat_on] = new[new[flat_on]]
            if np.array_equal(jumped, new):
                break
            new = jumped
        new = new.reshape(padded.shape)
        if np.array_equal(new, labels):
            break
        labels = new
    roots = labels[1:-1, 1:-1][mask]
    unique, dense = np.unique(roots, return_inverse=True)
    out = np.zeros(mask.shape, dtype=np.int32)
    out[mask] = dense + 1
    ys, xs = np.nonzero(mask)
    components = []
    count = len(unique)
    areas = np.bincount(dense, minlength=count)
    x0 = np.full(count, width)
    y0 = np.full(count, height)
    x1 = np.zeros(count, dtype=np.int64)
    y1 = np.zeros(count, dtype=np.int64)
    np.minimum.at(x0, dense, xs)
    np.minimum.at(y0, dense, ys)
    np.maximum.at(x1, dense, xs + 1)
    np.maximum.at(y1, dense, ys + 1)
    for index in range(count):
        box = (int(x0[index]), int(y0[index]), int(x1[index]), int(y1[index]))
        components.append(Component(index + 1, int(areas[index]), box))
    return out, components


def with_rim(strength: np.ndarray, mask: np.ndarray,
             box: tuple[int, int, int, int]) -> np.ndarray:
    """(y1 - y0, x1 - x0) float32: `strength` inside `box` where `mask` (the box's own pixels) or
    the one-pixel rim around it is: a glyph's faint anti-aliased edge, without its neighbours'
    ink."""
    x0, y0, x1, y1 = box
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    return np.where(grown, strength[y0:y1, x0:x1], 0.0).astype(np.float32)


def max_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """Boolean max-pooling by an integer factor: a coarse cell is on if any pixel in it is on."""
    if factor <= 1:
        return mask
    # Pillow's reduce() averages factor x factor cells in C (a partial cell at the edge too)
    image = Image.fromarray(mask.astype(np.uint8) * 255, "L").reduce(factor)
    return np.asarray(image) > 0
