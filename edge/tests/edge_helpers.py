"""Rendering helpers shared by the edge tests: real MNIST digits as scans and as fields."""

from __future__ import annotations

import numpy as np
from PIL import Image


def ink_box(image: np.ndarray, level: float = 0.3) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of pixels above `level` of the maximum (white-on-black)."""
    on = image > level * image.max()
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] + 1), int(rows[-1] + 1)


def crop(digit: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = ink_box(digit, 0.01)
    return digit[y0:y1, x0:x1]


def scan(digit: np.ndarray, height: int = 96, margin: int = 40, paper: int = 235,
         dark_ink: bool = True) -> Image.Image:
    """A 28x28 MNIST digit as a scan: upscaled to `height` px of ink, on paper with margins."""
    piece = Image.fromarray(crop(digit))
    width = max(1, round(piece.width * height / piece.height))
    ink = np.asarray(piece.resize((width, height), Image.BICUBIC), dtype=np.float32) / 255
    ink = np.pad(ink, margin)
    gray = paper / 255 * (1 - 0.85 * ink) if dark_ink else 0.1 + 0.85 * ink
    return Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))


def field(digits: list[np.ndarray], gaps: list[int], height: int = 16, scale: int = 4,
          margin: int = 4) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Digits on one line at `height` px with the given gaps, scaled up `scale` times, dark on
    light. Returns the image and each digit's true box in the final image's pixels."""
    pieces = []
    for digit in digits:
        piece = Image.fromarray(crop(digit))
        width = max(1, round(piece.width * height / piece.height))
        pieces.append(np.asarray(piece.resize((width, height), Image.LANCZOS), np.float32) / 255)
    total = sum(p.shape[1] for p in pieces) + sum(gaps) + 2 * margin
    line = np.zeros((height + 2 * margin, total), np.float32)
    boxes, x = [], margin
    for index, piece in enumerate(pieces):
        region = line[margin:margin + height, x:x + piece.shape[1]]
        np.maximum(region, piece, out=region)
        boxes.append((x * scale, margin * scale, (x + piece.shape[1]) * scale,
                      (margin + height) * scale))
        x += piece.shape[1] + (gaps[index] if index < len(gaps) else 0)
    paper = Image.fromarray(((1 - 0.9 * np.clip(line, 0, 1)) * 255).astype(np.uint8))
    return paper.resize((paper.width * scale, paper.height * scale), Image.BICUBIC), boxes


def written(text: str, digits: np.ndarray, labels: np.ndarray, seed: int = 0,
            height: int = 28, gap: float = 0.25) -> Image.Image:
    """`text` ("$1,234.56", "12345-6789") as a hand writes it: real digits of each label, pen-drawn
    marks (edge/bench/pen.py, the same pen the field sets use), scanned 2.5x, dark on light."""
    pen = _pen()
    rng = np.random.default_rng(seed)
    picks = {d: iter(np.flatnonzero(labels == d)) for d in range(10)}
    glyphs, width = [], max(2.0, height / 9)
    for char in text:
        if char == " ":
            glyphs.append((np.zeros((height, int(0.6 * height)), np.float32), 0.0))
        elif char.isdigit():
            glyphs.append((pen.digit_ink(digits[next(picks[int(char)])], height), 0.0))
        else:
            glyphs.append(pen.mark_ink(char, height, width, rng))
    ink = pen.compose(glyphs, [gap * height] * (len(glyphs) - 1), height)
    return pen.scan(ink, rng, 2.5)


def _pen():
    """edge/bench/pen.py: a dev tool of the repository, not part of the installed package."""
    from edge.bench import pen

    return pen
