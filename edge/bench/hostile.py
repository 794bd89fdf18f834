"""Images no field reader should read: what scanners and careless scripts feed it.

Dusty scans (speckle), blobs, hatching, a page of printed text, random noise, and lines of digits
too long to be a field. Each generator is a pure function of its parameters and a seed, so the
limits bench (edge/bench/limits.py) and the property tests (edge/tests/test_edge_limits.py)
draw from the same families. Dev-only: numpy and Pillow.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAPER = 235  # light grey paper; ink is near black


def speckle(width: int, height: int, density: float, seed: int = 0, size: int = 1) -> Image.Image:
    """A dusty scan with nothing written on it: `density` of the pixels start a size-px speck."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width), PAPER, np.uint8)
    ys, xs = np.nonzero(rng.random((height, width)) < density)
    for dy in range(size):
        for dx in range(size):
            page[np.minimum(ys + dy, height - 1), np.minimum(xs + dx, width - 1)] = 20
    return Image.fromarray(page)


def blobs(width: int, height: int, count: int, seed: int = 0, radius: tuple[int, int] = (2, 6)
          ) -> Image.Image:
    """`count` round blots scattered over the whole image: spilt ink, a dirty scanner glass."""
    rng = np.random.default_rng(seed)
    page = Image.new("L", (width, height), PAPER)
    canvas = ImageDraw.Draw(page)
    for _ in range(count):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(*radius)
        canvas.ellipse((x - r, y - r, x + r, y + r), fill=20)
    return page


def hatching(width: int, height: int, spacing: int, seed: int = 0, pen: int = 2) -> Image.Image:
    """Parallel slanted strokes across the whole image, each leaning over 1-1.5 image heights:
    closer than `height / 2` apart, every stroke shares most of its columns with the next."""
    rng = np.random.default_rng(seed)
    page = Image.new("L", (width, height), PAPER)
    canvas = ImageDraw.Draw(page)
    lean = rng.uniform(1.0, 1.5) * height
    for x in range(-int(lean), width, spacing):
        canvas.line((x, height, x + lean, 0), fill=20, width=pen)
    return page


def text_page(width: int = 1275, height: int = 1650, seed: int = 0) -> Image.Image:
    """A page of printed lines of text: a photo of a whole form instead of one field."""
    rng = np.random.default_rng(seed)
    page = Image.new("L", (width, height), PAPER)
    canvas = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=max(10, height // 60))
    words = ["Account", "Pay", "to", "the", "order", "of", "Dollars", "Memo", "Date", "ZIP",
             "12345", "Street", "Suite", "4", "No.", "Total"]
    step = max(14, height // 40)
    for y in range(step, height - step, step):
        line = " ".join(rng.choice(words, size=12))
        canvas.text((step, y), line, fill=20, font=font)
    return page


def noise(width: int, height: int, seed: int = 0, share: float = 0.5) -> Image.Image:
    """Salt and pepper over the whole image: `share` of the pixels black."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.where(rng.random((height, width)) < share, 20, PAPER)
                           .astype(np.uint8))


def digit_line(digits: np.ndarray, labels: np.ndarray, text: str, seed: int = 0,
               height: int = 28) -> Image.Image:
    """`text` written with real digits (one per character, of its label) on one line, scanned."""
    from edge.bench import pen

    rng = np.random.default_rng(seed)
    glyphs = []
    for char in text:
        choices = np.flatnonzero(labels == int(char))
        glyphs.append((pen.digit_ink(digits[rng.choice(choices)], height), 0.0))
    ink = pen.compose(glyphs, list(rng.uniform(0.15, 0.4, len(glyphs) - 1) * height), height)
    return pen.scan(ink, rng, 2.0)
