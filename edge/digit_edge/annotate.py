"""A picture of one field reading, for the person who reviews a rejected envelope or check.

It shows what the reader saw, not the scan: the cleaned ink in black, the printed rules it removed
in light blue, a box round each character with its reading and confidence under it (green: sure,
orange: below the character threshold, red: no digit or mark), and the verdict on a band below:
accepted with the field confidence, or rejected or refused and why. Written atomically (a temp
file in the same folder, then renamed), so a reviewer's folder never holds half a PNG.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_INK_HEIGHT = 96    # small fields are enlarged so the labels under them stay legible...
MAX_WIDTH = 2400       # ...up to this width
RULE = (150, 190, 235)
SURE, UNSURE, JUNK = (0, 140, 60), (230, 130, 0), (210, 30, 30)
ACCEPTED, REJECTED = (0, 120, 50), (190, 20, 20)


@dataclass(frozen=True)
class Annotation:
    """What to draw: ink strength (H, W) 0..1 at the reader's working scale, the rule pixels it
    removed, the characters (boxes in input pixels, `scale` input pixels per working pixel) and
    the verdict."""

    strength: np.ndarray
    removed: np.ndarray | None
    scale: float
    chars: tuple = ()            # FieldChar: kind, value, confidence, box
    verdict: str = ""
    accepted: bool = False
    char_threshold: float = 0.5


def render(annotation: Annotation) -> Image.Image:
    """The annotated picture as an RGB image."""
    strength = np.clip(annotation.strength, 0.0, 1.0)
    height, width = strength.shape
    zoom = min(max(1.0, MIN_INK_HEIGHT / max(height, 1)), MAX_WIDTH / max(width, 1))
    zoom = max(zoom, 0.1)
    pixels = np.full((height, width, 3), 255.0, np.float32)
    if annotation.removed is not None:
        pixels[annotation.removed] = RULE
    ink = strength[..., None]
    pixels = pixels * (1.0 - ink)  # the cleaned ink, black, over the paper and the rules
    field = Image.fromarray(pixels.astype(np.uint8), "RGB")
    size = (max(1, round(width * zoom)), max(1, round(height * zoom)))
    field = field.resize(size, Image.BILINEAR)
    font_size = max(12, min(28, size[1] // 6))
    font = ImageFont.load_default(size=font_size)
    label_band, verdict_band = 2 * font_size + 10, font_size + 12
    wide = max(size[0], round(font.getlength(annotation.verdict)) + 8)  # the verdict, whole
    canvas = Image.new("RGB", (wide, size[1] + label_band + verdict_band), "white")
    canvas.paste(field, (0, 0))
    draw = ImageDraw.Draw(canvas)
    factor = zoom / annotation.scale
    ends = [-1.0, -1.0]  # where each of the two label rows is free again: labels never overlap
    for char in annotation.chars:
        x0, y0, x1, y1 = (v * factor for v in char.box)
        colour = (JUNK if char.kind == "other" else
                  SURE if char.confidence >= annotation.char_threshold else UNSURE)
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=colour, width=2)
        label = f"{char.value} {char.confidence:.2f}".replace("0.", ".")
        row = 0 if x0 >= ends[0] else 1 if x0 >= ends[1] else int(ends[1] < ends[0])
        draw.text((x0, size[1] + 2 + row * (font_size + 4)), label, fill=colour, font=font)
        ends[row] = x0 + draw.textlength(label + " ", font=font)
    colour = ACCEPTED if annotation.accepted else REJECTED
    draw.rectangle((0, size[1] + label_band, canvas.width, canvas.height), fill=colour)
    draw.text((4, size[1] + label_band + 4), annotation.verdict, fill="white", font=font)
    return canvas


def write(annotation: Annotation, path: str | os.PathLike) -> Path:
    """Render and save as PNG at `path`, atomically. Raises OSError where it cannot be written."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            render(annotation).save(stream, format="PNG")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def verdict(text: str, confidence: float, rejected: bool, reason: str | None) -> str:
    """The band's line: what was read and whether it is accepted."""
    if rejected:
        return f"REJECTED {text!r} ({confidence:.3f}): {reason}"
    return f"ACCEPTED {text} ({confidence:.3f})"
