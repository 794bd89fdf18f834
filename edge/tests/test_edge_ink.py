"""Connected components of ink, checked against a plain flood fill."""

from __future__ import annotations

from collections import deque

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digit_edge.ink import label_components


def flood_fill_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected labels numbered in the raster order of each component's first pixel."""
    labels = np.zeros(mask.shape, dtype=np.int32)
    height, width = mask.shape
    count = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if labels[y, x]:
            continue
        count += 1
        labels[y, x] = count
        queue = deque([(y, x)])
        while queue:
            cy, cx = queue.popleft()
            for ny in range(max(0, cy - 1), min(height, cy + 2)):
                for nx in range(max(0, cx - 1), min(width, cx + 2)):
                    if mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = count
                        queue.append((ny, nx))
    return labels


def assert_matches_flood_fill(mask: np.ndarray) -> None:
    labels, components = label_components(mask)
    expected = flood_fill_labels(mask)
    assert np.array_equal(labels, expected)
    assert [c.label for c in components] == list(range(1, expected.max() + 1))
    for component in components:
        ys, xs = np.nonzero(expected == component.label)
        assert component.area == ys.size
        assert component.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


@settings(max_examples=200, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24))))
def test_components_are_the_flood_fills_of_any_mask(mask):
    assert_matches_flood_fill(mask)


def test_diagonal_neighbours_join_and_a_gap_of_one_pixel_splits():
    mask = np.zeros((4, 8), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal: one piece
    mask[0, 4] = mask[0, 6] = True               # one empty pixel between: two pieces
    labels, components = label_components(mask)
    assert len(components) == 3
    assert labels[0, 0] == labels[2, 2] != labels[0, 4] != labels[0, 6]


def test_a_long_spiral_is_one_piece():
    """A path that doubles back many times: labels must travel its whole length."""
    mask = np.zeros((61, 61), dtype=bool)
    top, left, bottom, right = 0, 0, 60, 60
    while top <= bottom and left <= right:
        mask[top, left:right + 1] = True
        mask[top:bottom + 1, right] = True
        if bottom - top >= 2:
            mask[bottom, left:right + 1] = True
        if right - left >= 2 and bottom - top >= 4:
            mask[top + 2:bottom + 1, left] = True
            mask[top + 2, left:right - 1] = True
        top, left, bottom, right = top + 4, left + 2, bottom - 2, right - 2
    assert_matches_flood_fill(mask)


def test_an_empty_mask_has_no_components():
    labels, components = label_components(np.zeros((5, 7), dtype=bool))
    assert components == [] and not labels.any() and labels.shape == (5, 7)
