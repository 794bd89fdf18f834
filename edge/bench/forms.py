"""Fields written on printed forms: a guide line, a courtesy-amount box, comb boxes.

Real fields are written above a printed line, in a box or in one cell per character; the reader
must remove the print (digit_edge/rules.py) before it reads. Here the handwriting (pen.py's glyphs,
laid out by make_fields.py) is enlarged to the scan's scale, then the form is printed over it at
that scale, so the rules are 1-4 px whatever the writing's size: grey or black, turned 0-3 degrees,
sometimes worn (pixels missing). Then the page is scanned as a document scanner does: grey
speckled paper, a little blur, sensor noise, saved as JPEG (make_fields.py picks the quality).

Dev-only (numpy and Pillow), used by `make_fields --form guide|box|comb`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from edge.bench.pen import compose

FORMS = ("none", "guide", "box", "comb")
SUPER = 4             # print drawn 4x larger and shrunk: anti-aliased like a scan of print
MAX_TILT = 3.0        # degrees the print may be turned against the writing (a skewed form)
RULE_PX = (1.0, 4.0)  # printed rule thickness at the scan's scale, px
GREY = 0.5            # share of forms printed in grey rather than black
WORN = 0.25           # share of forms whose print has pixels missing (worn toner, a faint copy)
LABEL = 0.5           # share of boxes with a printed "$" / "ZIP" beside them


@dataclass(frozen=True)
class Print:
    """What the form prints, in the handwriting's pixels before the scan's enlargement."""

    lines: list[list[tuple[float, float]]]       # polylines
    texts: list[tuple[float, float, str, float]]  # (x, y of the text's left middle, text, size)


def fill_form(form: str, glyphs: list[tuple[np.ndarray, float]], gaps: list[float],
              height: int, rng: np.random.Generator, printed: str = "$") -> Image.Image:
    """The written field (make_fields.write_field's glyphs, gaps and line height) on a printed
    form, scanned: a grey image, dark on light. `printed` is the label a box may carry."""
    if form == "comb":
        ink, sheet = comb(glyphs, height, rng)
    else:
        ink = compose(glyphs, gaps, height)
        # compose() puts the digits' top at margin - (the highest glyph's offset above it)
        base = height // 2 - min(0, *(int(t) for _, t in glyphs)) + height
        if form == "guide":
            ink, sheet = guide(ink, base, height, rng)
        elif form == "box":
            ink, sheet = box(ink, height, rng, printed)
        else:
            raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS[1:])}")
    return print_and_scan(ink, sheet, rng, float(rng.uniform(1.5, 3.5)))


def guide(ink: np.ndarray, base: int, height: int, rng: np.random.Generator
          ) -> tuple[np.ndarray, Print]:
    """A guide line across the field at its baseline: low digits and commas touch or cross it."""
    y = base + rng.uniform(-0.05, 0.15) * height
    below = math.ceil(y + 0.4 * height) - ink.shape[0]
    if below > 0:
        ink = np.pad(ink, ((0, below), (0, 0)))
    width = ink.shape[1]
    x0, x1 = rng.uniform(0, 0.3) * height, width - rng.uniform(0, 0.3) * height
    return ink, Print([[(x0, y), (x1, y)]], [])


def box(ink: np.ndarray, height: int, rng: np.random.Generator, printed: str
        ) -> tuple[np.ndarray, Print]:
    """A box around the field with a margin inside (sometimes thin: a digit may touch it), and
    sometimes a printed label left of it."""
    rows = np.flatnonzero(ink.max(axis=1) > 0.05)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = rng.uniform(0.15, 0.5) * height                 # inside the box, left and right
    over, under = rng.uniform(0.03, 0.3, size=2) * height  # inside, above and below the ink
    outer = rng.uniform(0.15, 0.6) * height                # outside the box
    label = rng.random() < LABEL
    size = rng.uniform(0.5, 0.9) * height
    space = (ImageFont.load_default(size=max(1, round(size))).getlength(printed)
             + rng.uniform(0.15, 0.5) * height) if label else 0.0
    x0, y0 = outer + space, outer                          # the box's corner
    x1, y1 = x0 + 2 * side + ink.shape[1], y0 + over + under + ink.shape[0]
    canvas = np.zeros((math.ceil(y1 + outer), math.ceil(x1 + outer)), np.float32)
    left, top = round(x0 + side), round(y0 + over)
    canvas[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    middle = (y0 + y1) / 2 + rng.uniform(-0.15, 0.15) * height
    texts = [(outer, middle, printed, size)] if label else []
    return canvas, Print([[*corners, corners[0]]], texts)


def comb(glyphs: list[tuple[np.ndarray, float]], height: int, rng: np.random.Generator
         ) -> tuple[np.ndarray, Print]:
    """One cell per character: a baseline with separators taller than the digits, each glyph
    written near its cell's middle (a wide one may touch a separator)."""
    count = len(glyphs)
    cell = rng.uniform(1.0, 1.35) * height
    tooth = rng.uniform(1.4, 1.8) * height
    margin = rng.uniform(0.3, 0.7) * height
    base = margin + tooth
    top = base - rng.uniform(0.08, 0.25) * height - height  # the digits' top
    canvas = np.zeros((math.ceil(base + margin + 0.2 * height),
                       math.ceil(2 * margin + count * cell)), np.float32)
    for index, (ink, offset) in enumerate(glyphs):
        x = margin + index * cell + (cell - ink.shape[1]) / 2 + rng.uniform(-0.12, 0.12) * cell
        x = round(float(max(0, min(canvas.shape[1] - ink.shape[1], x))))
        y = round(float(max(0, top + offset)))
        region = canvas[y:y + ink.shape[0], x:x + ink.shape[1]]
        np.maximum(region, ink[:region.shape[0], :region.shape[1]], out=region)
    right = margin + count * cell
    lines = [[(margin, base), (right, base)]]
    lines += [[(margin + k * cell, base), (margin + k * cell, base - tooth)]
              for k in range(count + 1)]
    return canvas, Print(lines, [])


def print_and_scan(ink: np.ndarray, sheet: Print, rng: np.random.Generator,
                   scale: float) -> Image.Image:
    """White-on-black handwriting plus the form's print -> a grey document scan at `scale`."""
    angle = math.radians(rng.uniform(-MAX_TILT, MAX_TILT))
    # room for the turned print: a box's corners must stay on the page
    rise = math.ceil(abs(math.sin(angle)) * ink.shape[1] / 2) + 1
    run = math.ceil(abs(math.sin(angle)) * ink.shape[0] / 2) + 1
    ink = np.pad(ink, ((rise, rise), (run, run)))
    sheet = Print([[(x + run, y + rise) for x, y in line] for line in sheet.lines],
                  [(x + run, y + rise, text, points) for x, y, text, points in sheet.texts])
    size = (max(8, round(ink.shape[1] * scale)), max(8, round(ink.shape[0] * scale)))
    writing = np.clip(np.asarray(Image.fromarray(ink, "F").resize(size, Image.BICUBIC)), 0, 1)
    printed = _print(sheet, size, scale, angle, rng)
    if rng.random() < WORN:
        printed = printed * (rng.random(printed.shape) > rng.uniform(0.05, 0.25))
    paper = _paper(size, rng)
    hand = float(rng.uniform(0.6, 0.95))
    toner = float(rng.uniform(0.85, 1.0) if rng.random() > GREY else rng.uniform(0.3, 0.65))
    gray = paper * (1 - hand * writing) * (1 - toner * printed)
    image = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.2, 0.9))))
    gray = np.asarray(image, np.float32) / 255
    gray = gray + rng.normal(0, float(rng.uniform(0.0, 0.03)), gray.shape)
    return Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))


def jpeg_quality(rng: np.random.Generator) -> int:
    """A document scanner's JPEG quality: 50-90, low enough to break thin grey rules."""
    return int(rng.integers(50, 91))


def _print(sheet: Print, size: tuple[int, int], scale: float, angle: float,
           rng: np.random.Generator) -> np.ndarray:
    """The print (H, W) float32 0..1 at the scan's scale, turned by `angle` (radians) about the
    page's centre."""
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = size[0] / 2, size[1] / 2

    def place(x: float, y: float) -> tuple[float, float]:
        x, y = x * scale - cx, y * scale - cy
        return (cx + x * cos - y * sin) * SUPER, (cy + x * sin + y * cos) * SUPER

    image = Image.new("L", (size[0] * SUPER, size[1] * SUPER))
    canvas = ImageDraw.Draw(image)
    thick = max(1, round(rng.uniform(*RULE_PX) * SUPER))
    for line in sheet.lines:
        canvas.line([place(x, y) for x, y in line], fill=255, width=thick, joint="curve")
    for x, y, text, points in sheet.texts:
        font = ImageFont.load_default(size=max(1, round(points * scale * SUPER)))
        canvas.text(place(x, y), text, fill=255, font=font, anchor="lm")
    return np.asarray(image.reduce(SUPER), np.float32) / 255


def _paper(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Grey recycled paper: a tone, a fine fibre texture and dark specks of dust."""
    tone = float(rng.uniform(0.72, 0.95))
    grain = rng.normal(0, float(rng.uniform(0.005, 0.02)), (size[1], size[0]))
    texture = Image.fromarray(((grain + 0.5) * 255).clip(0, 255).astype(np.uint8))
    grain = np.asarray(texture.filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255 - 0.5
    dust = Image.new("L", (size[0] * SUPER, size[1] * SUPER))
    canvas = ImageDraw.Draw(dust)
    for _ in range(int(rng.poisson(size[0] * size[1] / rng.uniform(2000, 12000)))):
        x, y = rng.uniform(0, size[0]) * SUPER, rng.uniform(0, size[1]) * SUPER
        r = rng.uniform(0.4, 1.5) * SUPER
        canvas.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.uniform(40, 160)))
    specks = np.asarray(dust.reduce(SUPER), np.float32) / 255
    return (tone + grain) * (1 - specks)
