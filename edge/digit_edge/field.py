"""Find the digits on one line (a ZIP code, an amount): connected components, merged and split.

Handwriting breaks the one-blob-per-digit ideal both ways: a 5's flag or a 7's bar lifts off the
body (merge pieces that share columns), and neighbours written close touch (split blobs much
wider than a digit is tall at their thinnest column). Dust specks are dropped by size relative
to the line's digits.

Order matters: touching blobs are split first (only single blobs, so a digit assembled from
pieces is never cut), then pieces are grouped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BlankImageError
from .ink import Component, Ink, label_components

SPECK_AREA = 0.03     # a blob under 3% of the largest blob's area...
SPECK_SIZE = 0.35     # ...and under 35% of the line height on both sides is noise
FRAGMENT = 0.6        # a blob under 60% of the line height is a piece of a digit (a 5's flag)...
REACH = 0.35          # ...joining the nearest digit within 35% of the line height
MERGE_OVERLAP = 0.5   # full-height blobs sharing >= half the narrower one's columns are one digit
SPLIT_WIDTH = 1.5     # a blob wider than 1.5 line heights holds more than one digit...
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
    labels, pieces = _split_touching(labels, kept, line_height)
    segments = []
    for group in _group_pieces(pieces, labels, line_height):
        mask = np.isin(labels, [c.label for c in group])
        box = _box(mask)
        if box is not None:
            segments.append(Segment(mask, box))
    if not segments:
        raise BlankImageError(f"{name}: blank, only specks of noise found")
    return sorted(segments, key=lambda s: (s.box[0] + s.box[2]) / 2)


def _group_pieces(components: list[Component], labels: np.ndarray,
                  line_height: float) -> list[list[Component]]:
    """Group blobs into digits: blobs sharing columns are merged; a group still under FRAGMENT
    line heights (a 5's flag) joins the digit whose ink comes nearest, within REACH."""
    groups = _merge_overlapping(components)
    heights = [max(c.box[3] for c in g) - min(c.box[1] for c in g) for g in groups]
    tall = [g for g, h in zip(groups, heights, strict=True) if h >= FRAGMENT * line_height]
    short = [g for g, h in zip(groups, heights, strict=True) if h < FRAGMENT * line_height]
    if not tall:
        return groups
    points = [_sample_points(labels, group) for group in tall]
    orphans: list[list[Component]] = []
    for piece in short:
        mine = _sample_points(labels, piece)
        distances = [_nearest(mine, theirs) for theirs in points]
        best = int(np.argmin(distances))
        if distances[best] <= REACH * line_height:
            tall[best] += piece
        else:
            orphans.append(piece)
    return tall + orphans


def _split_touching(labels: np.ndarray, components: list[Component],
                    line_height: float) -> tuple[np.ndarray, list[Component]]:
    """Cut blobs much wider than a digit (touching neighbours) at their thinnest column.

    Returns a relabelled copy of `labels` and the new list of blobs.
    """
    if all(c.box[2] - c.box[0] <= SPLIT_WIDTH * line_height for c in components):
        return labels, components
    labels = labels.copy()
    next_label = int(labels.max()) + 1
    queue, done = list(components), []
    while queue:
        c = queue.pop()
        x0, y0, x1, y1 = c.box
        if x1 - x0 <= SPLIT_WIDTH * line_height:
            done.append(c)
            continue
        window = labels[y0:y1, x0:x1]
        own = window == c.label
        margin = max(1, int(MIN_PIECE * line_height))
        columns = own.sum(axis=0)[margin:-margin].astype(np.float64)
        # prefer the middle among equally thin columns: a cut near the ends leaves a sliver
        position = np.arange(columns.size) - (columns.size - 1) / 2
        cut = margin + int(np.argmin(columns + 1e-3 * np.abs(position)))
        right = own.copy()
        right[:, :cut] = False
        window[right] = next_label
        for label, part in ((c.label, own & ~right), (next_label, right)):
            box = _box(part)
            if box is not None:
                box = (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)
                queue.append(Component(label, int(part.sum()), box))
        next_label += 1
    return labels, done


def _merge_overlapping(components: list[Component]) -> list[list[Component]]:
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
    groups: dict[int, list[Component]] = {}
    for i, component in enumerate(components):
        groups.setdefault(root(i), []).append(component)
    return list(groups.values())


def _sample_points(labels: np.ndarray, group: list[Component], limit: int = 400) -> np.ndarray:
    """Up to `limit` (y, x) pixel coordinates of the group's ink, evenly spread."""
    chunks = []
    for c in group:
        x0, y0, x1, y1 = c.box
        ys, xs = np.nonzero(labels[y0:y1, x0:x1] == c.label)
        chunks.append(np.stack([ys + y0, xs + x0], axis=1))
    points = np.concatenate(chunks)
    step = max(1, len(points) // limit)
    return points[::step].astype(np.float32)


def _nearest(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest distance between two point sets, in pixels."""
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    return float(np.sqrt(d.min()))


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] + 1), int(rows[-1] + 1)
