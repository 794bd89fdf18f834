"""Find the digits on one line (a ZIP code, an amount): connected components, merged and split.

Handwriting breaks the one-blob-per-digit ideal both ways: a 5's flag or a 7's bar lifts off the
body (merge pieces that share columns), and neighbours written close touch (split blobs much
wider than a digit is tall at their thinnest column). Dust specks are dropped by size relative
to the line's digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BlankImageError
from .ink import Ink, label_components

SPECK_AREA = 0.03     # a blob under 3% of the largest blob's area...
SPECK_SIZE = 0.35     # ...and under 35% of the line height on both sides is noise
MERGE_OVERLAP = 0.5   # blobs sharing >= half of the narrower one's columns are one digit
SPLIT_WIDTH = 1.15    # a blob wider than 1.15 line heights holds more than one digit...
MIN_PIECE = 0.3       # ...and is cut at its thinnest column, no closer than 0.3 heights to an end


@dataclass(frozen=True)
class Segment:
    """One digit's pixels: a boolean mask the size of the image, and its box (x0, y0, x1, y1)."""

    mask: np.ndarray
    box: tuple[int, int, int, int]  # x1, y1 exclusive, in working-image pixels


def segment_line(ink: Ink, name: str = "image") -> list[Segment]:
    """The digits of a one-line field, left to right. Raises BlankImageError if none is found."""
    labels, components = label_components(ink.mask)
    if not components:
        raise BlankImageError(f"{name}: blank, no ink found")
    largest = max(c.area for c in components)
    heights = np.array([c.box[3] - c.box[1] for c in components])
    solid = heights[[c.area >= 0.2 * largest for c in components]]
    line_height = float(np.max(solid))
    kept = [c for c in components
            if not (c.area < SPECK_AREA * largest
                    and max(c.box[2] - c.box[0], c.box[3] - c.box[1]) < SPECK_SIZE * line_height)]
    groups = _merge_overlapping(kept)
    segments: list[Segment] = []
    for group in groups:
        mask = np.isin(labels, [c.label for c in group])
        segments += _split_wide(mask, line_height)
    if not segments:
        raise BlankImageError(f"{name}: blank, only specks of noise found")
    return sorted(segments, key=lambda s: (s.box[0] + s.box[2]) / 2)


def _merge_overlapping(components: list) -> list[list]:
    """Union blobs whose column ranges overlap enough: the pieces of one broken digit."""
    parent = list(range(len(components)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(components):
        for j in range(i + 1, len(components)):
            b = components[j]
            overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
            narrower = min(a.box[2] - a.box[0], b.box[2] - b.box[0])
            if overlap >= MERGE_OVERLAP * narrower:
                parent[root(j)] = root(i)
    groups: dict[int, list] = {}
    for i, component in enumerate(components):
        groups.setdefault(root(i), []).append(component)
    return list(groups.values())


def _split_wide(mask: np.ndarray, line_height: float) -> list[Segment]:
    """Cut a too-wide blob at its thinnest column, recursively, into digit-wide pieces."""
    box = _box(mask)
    if box is None:
        return []
    x0, _, x1, _ = box
    if x1 - x0 <= SPLIT_WIDTH * line_height:
        return [Segment(mask, box)]
    margin = max(1, int(MIN_PIECE * line_height))
    columns = mask[:, x0:x1].sum(axis=0).astype(np.float64)
    inner = columns[margin:-margin] if x1 - x0 > 2 * margin else columns
    # prefer the middle among equally thin columns: a cut near the ends leaves a sliver
    position = np.arange(inner.size) - (inner.size - 1) / 2
    cut = x0 + margin + int(np.argmin(inner + 1e-3 * np.abs(position)))
    left, right = mask.copy(), mask.copy()
    left[:, cut:] = False
    right[:, :cut] = False
    return _split_wide(left, line_height) + _split_wide(right, line_height)


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] + 1), int(rows[-1] + 1)
