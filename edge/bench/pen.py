"""Pen-drawn glyphs for the field sets and the glyph model: marks, junk, and handwritten digits
laid out on a line the way people write ZIP codes and check amounts.

Coordinates are in line units: y = 0 is the top of the digits, y = 1 their baseline, x grows to
the right in the same unit. A stroke is a polyline drawn with a round pen; everything is drawn
4x larger and shrunk (area averaging), so edges are anti-aliased like a scan's.

Dev-only (numpy and Pillow): imported by make_fields.py and edge/tools/make_glyph_model.py.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SUPER = 4           # strokes are drawn this many times larger, then shrunk: anti-aliasing
MARKS = (".", ",", "-", "$")
# letters whose handwritten shapes are not also digit shapes (no O, l, I, Z, S, G, B, g, q, b)
LETTERS = "ACEFHKMNPRTUVWXYacehkmnruvwx"
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf",
         "DejaVuSerif-Italic.ttf")
Stroke = list[tuple[float, float]]


def draw(strokes: list[Stroke], height: int, pen: float, width: float | None = None,
         top: float = 0.0) -> np.ndarray:
    """Rasterise strokes (line units) into a (H, W) float32 0..1 ink array, `height` px per unit.

    pen is the stroke width in output pixels. The canvas spans x from 0 to `width` units (default:
    the strokes' right edge plus the pen) and y from `top` to `top + H / height`.
    """
    xs = [x for s in strokes for x, _ in s]
    ys = [y for s in strokes for _, y in s]
    margin = pen / height
    right = (width if width is not None else max(xs) + margin) + margin
    bottom = max(ys) + margin
    size = (max(1, int(np.ceil(right * height))), max(1, int(np.ceil((bottom - top) * height))))
    image = Image.new("L", (size[0] * SUPER, size[1] * SUPER))
    canvas = ImageDraw.Draw(image)
    thick = max(1, round(pen * SUPER))
    for stroke in strokes:
        points = [(x * height * SUPER, (y - top) * height * SUPER) for x, y in stroke]
        if len(points) == 1 or all(p == points[0] for p in points):
            x, y = points[0]
            r = thick / 2
            canvas.ellipse((x - r, y - r, x + r, y + r), fill=255)
        else:
            canvas.line(points, fill=255, width=thick, joint="curve")
            for x, y in (points[0], points[-1]):  # round pen ends
                r = thick / 2
                canvas.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(image.reduce(SUPER), np.float32) / 255.0


def curve(points: list[tuple[float, float]], steps: int = 12) -> Stroke:
    """A smooth stroke through control points (Catmull-Rom), as a dense polyline."""
    pts = [points[0], *points, points[-1]]
    out: Stroke = []
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = (np.array(p) for p in pts[i - 1:i + 3])
        for t in np.linspace(0, 1, steps, endpoint=False):
            a = 2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t \
                + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3
            out.append((float(a[0] / 2), float(a[1] / 2)))
    out.append(points[-1])
    return out


def mark_strokes(mark: str, rng: np.random.Generator) -> list[Stroke]:
    """One pen-drawn mark in line units, its left edge near x = 0."""
    u = rng.uniform
    if mark == ".":
        y, r = u(0.82, 1.0), u(0.0, 0.05)
        if r < 0.02:
            return [[(0.05, y)]]
        return [curve([(0.05, y - r), (0.05 + r, y), (0.05, y + r * 0.8), (0.05 - r * 0.7, y),
                       (0.05, y - r)], 4)]
    if mark == ",":
        y = u(0.8, 0.98)
        tail = u(0.15, 0.32)
        lean = u(-0.12, -0.02)
        head = [(0.08, y)] if rng.random() < 0.5 else [(0.07, y - 0.02), (0.1, y)]
        return [curve([*head, (0.09 + lean * 0.3, y + tail * 0.6), (0.08 + lean, y + tail)], 6)]
    if mark == "-":
        y, length = u(0.38, 0.68), u(0.25, 0.7)
        tilt, bow = u(-0.08, 0.08), u(-0.04, 0.04)
        return [curve([(0.0, y), (length / 2, y + tilt / 2 + bow), (length, y + tilt)], 6)]
    if mark == "$":
        w, t, b = u(0.35, 0.6), u(-0.05, 0.12), u(0.9, 1.05)
        mid = (t + b) / 2
        s = curve([(w * 0.95, t + 0.08), (w * 0.5, t), (w * 0.08, t + 0.12), (w * 0.25, mid - 0.08),
                   (w * 0.75, mid + 0.08), (w * 0.92, b - 0.12), (w * 0.5, b), (w * 0.02, b - 0.1)],
                  8)
        x = w * u(0.4, 0.6)
        over = u(0.05, 0.2)
        bars = [[(x + u(-0.03, 0.03), t - over), (x + u(-0.03, 0.03), b + over)]]
        if rng.random() < 0.25:  # two bars, or one that stops at the S
            bars.append([(x + 0.08, t - over), (x + 0.08, b + over)])
        elif rng.random() < 0.3:
            bars = [[(x, t - over), (x, t + 0.05)], [(x, b - 0.05), (x, b + over)]]
        return [s, *bars]
    raise ValueError(f"unknown mark {mark!r}")


def mark_ink(mark: str, height: int, pen: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, float]:
    """(ink, its top in px relative to the digits' top) of one pen-drawn mark."""
    strokes = mark_strokes(mark, rng)
    left = min(x for s in strokes for x, _ in s) - pen / height
    top = min(y for s in strokes for _, y in s) - pen / height
    strokes = [[(x - left, y) for x, y in s] for s in strokes]
    return draw(strokes, height, pen, top=top), top * height


def letter_strokes(rng: np.random.Generator) -> list[Stroke]:
    """A handwritten-looking junk glyph: a stray scribble, a cross, a loop or a long stroke."""
    u = rng.uniform
    kind = rng.integers(4)
    if kind == 0:  # scribble
        return [curve([(u(0, 0.7), u(0, 1)) for _ in range(rng.integers(4, 8))], 6)]
    if kind == 1:  # x or +
        return [[(0, u(0, 0.3)), (0.6, u(0.7, 1))], [(0.6, u(0, 0.3)), (0, u(0.7, 1))]]
    if kind == 2:  # zigzag (M, W, N)
        n = rng.integers(3, 6)
        return [[(i * 0.18, 1.0 if i % 2 == 0 else u(0, 0.3)) for i in range(n)]]
    return [curve([(0, u(0.6, 1)), (u(0.2, 0.5), u(0.2, 0.6)), (u(0.7, 1.1), u(0, 0.3))], 8)]


def font_letter(rng: np.random.Generator, height: int) -> np.ndarray:
    """A letter from a system font, white on black, about `height` px tall; falls back to
    pen-drawn junk when no font file is found."""
    letter = LETTERS[rng.integers(len(LETTERS))]
    try:
        font = ImageFont.truetype(FONTS[rng.integers(len(FONTS))], height)
    except OSError:
        return draw(letter_strokes(rng), height, max(2.0, height / 9))
    image = Image.new("L", (height * 2, height * 2))
    ImageDraw.Draw(image).text((height // 3, height // 6), letter, fill=255, font=font)
    return np.asarray(image.rotate(float(rng.uniform(-12, 12)), Image.BICUBIC), np.float32) / 255


def smudge(rng: np.random.Generator, height: int) -> np.ndarray:
    """A blot: a filled irregular blob, blurred at the edge."""
    image = Image.new("L", (height, height))
    points = [(height / 2 + np.cos(a) * height * rng.uniform(0.2, 0.45),
               height / 2 + np.sin(a) * height * rng.uniform(0.2, 0.45))
              for a in np.linspace(0, 2 * np.pi, 9, endpoint=False)]
    ImageDraw.Draw(image).polygon(points, fill=int(rng.integers(120, 256)))
    image = image.filter(ImageFilter.GaussianBlur(height / 12))
    return np.asarray(image, np.float32) / 255


def crop(ink: np.ndarray, level: float = 0.05) -> np.ndarray:
    rows = np.flatnonzero(ink.max(axis=1) > level)
    cols = np.flatnonzero(ink.max(axis=0) > level)
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def stroke_px(ink: np.ndarray) -> float:
    """Mean stroke width in pixels of an ink array (2 * area / perimeter)."""
    mask = ink > 0.35
    edges = np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    return 2.0 * float(mask.sum()) / max(edges, 1)


def digit_ink(digit: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 white-on-black digit cropped to its ink and scaled to `height` px tall."""
    piece = crop(digit.astype(np.float32) / 255.0, 0.02)
    width = max(1, round(piece.shape[1] * height / piece.shape[0]))
    image = Image.fromarray(piece, "F").resize((width, height), Image.BICUBIC)
    return np.clip(np.asarray(image, np.float32), 0, 1)


def break_stroke(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Erase a thin band across the glyph: a pen that skipped."""
    h, w = ink.shape
    image = Image.fromarray((ink * 255).astype(np.uint8))
    y = float(rng.uniform(0.25, 0.75)) * h
    angle = float(rng.uniform(-0.6, 0.6))
    ImageDraw.Draw(image).line([(0, y - angle * w / 2), (w, y + angle * w / 2)], fill=0,
                               width=max(1, round(h * rng.uniform(0.04, 0.08))))
    return np.asarray(image, np.float32) / 255


def compose(glyphs: list[tuple[np.ndarray, float]], gaps: list[float], height: int) -> np.ndarray:
    """Lay glyph inks on one line: (ink, top offset in px) each, gaps in px (negative: touching).
    Overlapping ink is combined with max, as two pen strokes over each other."""
    margin = height // 2
    widths = [g.shape[1] for g, _ in glyphs]
    total = sum(widths) + int(sum(max(g, -w) for g, w in zip(gaps, widths[1:], strict=True)))
    tops = [int(t) for _, t in glyphs]
    lowest = min(0, *tops)
    bottom = max(t + g.shape[0] for (g, _), t in zip(glyphs, tops, strict=True))
    line = np.zeros((bottom - lowest + 2 * margin, max(total, 1) + 2 * margin + height),
                    np.float32)
    x = margin
    for index, ((ink, _), top) in enumerate(zip(glyphs, tops, strict=True)):
        y = top - lowest + margin
        region = line[y:y + ink.shape[0], x:x + ink.shape[1]]
        np.maximum(region, ink[:region.shape[0], :region.shape[1]], out=region)
        if index < len(gaps):
            x = max(margin, x + ink.shape[1] + round(gaps[index]))
    return crop_line(line, margin)


def crop_line(line: np.ndarray, margin: int) -> np.ndarray:
    cols = np.flatnonzero(line.max(axis=0) > 0.05)
    return line[:, max(0, cols[0] - margin):cols[-1] + 1 + margin]


def scan(ink: np.ndarray, rng: np.random.Generator, scale: float) -> Image.Image:
    """White-on-black ink -> a grey scan: dark ink on paper, enlarged, blurred, noisy."""
    paper = float(rng.uniform(0.8, 1.0))
    darkness = float(rng.uniform(0.6, 0.95))
    gray = paper - darkness * paper * np.clip(ink, 0, 1)
    image = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
    image = image.resize((max(8, round(image.width * scale)), max(8, round(image.height * scale))),
                         Image.BICUBIC)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 0.4 * scale))))
    gray = np.asarray(image, np.float32) / 255
    gray = gray + rng.normal(0, float(rng.uniform(0.0, 0.03)), gray.shape)
    return Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
