"""Training fields for the field model: written the way real scans come, harder than the bench's.

Real ink defeated the segmenting reader in ways the bench's fields rarely show (issue 18): strokes
with gaps, neighbours touching and overlapping, thick and thin pens, digits stretched to a square
box by scanners that normalise each digit, slant, baseline wander, specks, grey and uneven paper,
blur, JPEG, small and large scales. Each field here draws those at random, then goes through the
reader's own cleaning (digit_edge.reader.clean_field, find_atoms) into the strip the field model
sees, so training and reading share one path.

Dev-only (numpy, Pillow): imported by edge/tools/make_field_model.py and its tests.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from digit_edge.errors import InputError
from digit_edge.field import find_atoms
from digit_edge.reader import clean_field
from digit_edge.strip import field_strip
from edge.bench.make_fields import DigitPool, draw_marks, field_tokens
from edge.bench.pen import break_stroke, compose, digit_ink, scan, stroke_px

KINDS = ("zip", "zip+4", "amount", "digits")
KIND_SHARES = (0.25, 0.2, 0.35, 0.2)


@dataclass(frozen=True)
class Hardness:
    """How often each thing real scans do happens to a training field."""

    broken: float = 0.2        # digits with a pen skip
    touching: float = 0.25     # digit-to-digit gaps where neighbours touch or overlap
    square: float = 0.08       # digits stretched to a square box
    thick: float = 0.2         # fields written with a broad pen
    slant: float = 0.3         # fields slanted (shear up to +-0.35)
    specks: float = 0.4        # fields with dust
    uneven: float = 0.3        # fields on unevenly lit paper
    jpeg: float = 0.35         # fields saved as JPEG


def field_text(kind: str, rng: np.random.Generator) -> list[str]:
    """The characters as written: the bench's ZIP, ZIP+4 and amounts, or 1-14 free digits."""
    if kind == "digits":
        return [str(d) for d in rng.integers(10, size=int(rng.integers(1, 15)))]
    return field_tokens(kind, rng)[0]


def write(chars: list[str], pool: DigitPool, rng: np.random.Generator,
          hard: Hardness) -> Image.Image:
    """The field as a scan: glyphs on a line, then pen, slant, paper and scanner effects."""
    height = int(rng.integers(18, 34))
    glyphs: list[tuple[np.ndarray, float]] = []
    pens = []
    for char in chars:
        if not char.isdigit():
            glyphs.append((np.zeros((1, 1), np.float32), 0.0))
            continue
        size = round(height * rng.uniform(0.8, 1.15))
        ink = digit_ink(pool.take(int(char)), size)
        if rng.random() < hard.square:
            ink = np.asarray(Image.fromarray(ink, "F").resize((size, size), Image.BILINEAR),
                             np.float32).clip(0, 1)
        if rng.random() < hard.broken:
            ink = break_stroke(ink, rng)
        pens.append(stroke_px(ink))
        top = (height - size) * rng.uniform(0, 1) + rng.normal(0, 0.07 * height)
        glyphs.append((ink, top))
    draw_marks(chars, glyphs, pens, height, rng)
    gaps = []
    for left, right in itertools.pairwise(chars):
        touching = left.isdigit() and right.isdigit() and rng.random() < hard.touching
        gaps.append((rng.uniform(-0.3, -0.02) if touching else rng.uniform(0.03, 0.45)) * height)
    line = compose(glyphs, gaps, height)
    if rng.random() < hard.thick:
        line = np.asarray(Image.fromarray(line, "F").filter(ImageFilter.MaxFilter(3)), np.float32)
    if rng.random() < hard.slant:
        line = _shear(line, float(rng.uniform(-0.35, 0.35)))
    image = scan(line, rng, float(rng.uniform(0.9, 3.5)))
    return _paper(image, rng, hard)


def _shear(ink: np.ndarray, amount: float) -> np.ndarray:
    """Slant the line: each row shifts by `amount` of its height above the baseline."""
    h = ink.shape[0]
    pad = int(abs(amount) * h) + 1
    wide = np.pad(ink, ((0, 0), (pad, pad)))
    image = Image.fromarray(wide, "F").transform(
        wide.shape[::-1], Image.AFFINE, (1, amount, -amount * h, 0, 1, 0), Image.BILINEAR)
    return np.asarray(image, np.float32)


def _paper(image: Image.Image, rng: np.random.Generator, hard: Hardness) -> Image.Image:
    gray = np.asarray(image, np.float32) / 255
    h, w = gray.shape
    if rng.random() < hard.uneven:
        ramp = np.linspace(0, 1, w)[None, :] * rng.uniform(-0.2, 0.2) + \
            np.linspace(0, 1, h)[:, None] * rng.uniform(-0.1, 0.1)
        gray = gray * (1 + ramp)
    if rng.random() < hard.specks:
        dust = rng.random((h, w)) < rng.uniform(0.0005, 0.004)
        gray = np.where(dust, gray * rng.uniform(0.1, 0.6), gray)
    image = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
    if rng.random() < hard.jpeg:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(30, 90)))
        image = Image.open(io.BytesIO(buffer.getvalue()))
    return image


def strip_of(image: Image.Image) -> np.ndarray | None:
    """The strip the field model sees for this image, or None where the reader refuses it."""
    try:
        ink, _, _ = clean_field(image, "field")
        atoms, line = find_atoms(ink, "field")
    except InputError:
        return None
    return field_strip(ink.strength, atoms, line).image


def make_set(count: int, digits: np.ndarray, labels: np.ndarray, seed: int,
             hard: Hardness = Hardness()) -> tuple[list[np.ndarray], list[str]]:
    """`count` (strip, text as written) pairs; fields the reader refuses are drawn again."""
    rng = np.random.default_rng(seed)
    pool = DigitPool(digits, labels, rng)
    strips, texts = [], []
    while len(strips) < count:
        chars = field_text(str(rng.choice(KINDS, p=KIND_SHARES)), rng)
        strip = strip_of(write(chars, pool, rng, hard))
        if strip is not None:
            strips.append(strip)
            texts.append("".join(chars))
    return strips, texts
