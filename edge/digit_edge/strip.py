"""The whole field as the field model sees it: one strip 32 px tall, digits about 20 px tall.

The field model reads the field without cutting it into glyphs first (CTC), so what it is shown
must look the same whatever the scan: the ink the reader kept (specks and printed rules already
gone), scaled so the line's digits are LINE_PX tall like MNIST's, centred on the line. A strip
keeps the mapping back to working pixels, so a character's frames become a box on the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .field import Atom, Line
from .ink import with_rim

STRIP_HEIGHT = 32   # rows the field model sees...
LINE_PX = 20        # ...with the line's digits this tall, as MNIST's are in their 28x28 frame
FRAME = 4           # strip columns per output frame of the field model
MARGIN = 8          # blank columns either side: room for the blank frames CTC starts and ends on
MAX_WIDTH = 2048    # 64 characters of about 30 columns: the reader's longest field


@dataclass(frozen=True)
class Strip:
    """image (32, W) float32 0..1 white on black, W a multiple of FRAME; strip column c is
    working column x0 + c * scale, strip row r is working row y0 + r * scale."""

    image: np.ndarray
    x0: float
    y0: float
    scale: float

    def columns(self, first_frame: int, end_frame: int) -> tuple[float, float]:
        """The working-pixel columns [x0, x1) of frames first_frame..end_frame - 1."""
        return (self.x0 + first_frame * FRAME * self.scale,
                self.x0 + end_frame * FRAME * self.scale)


def field_strip(strength: np.ndarray, atoms: list[Atom], line: Line) -> Strip:
    """The strip of a field's kept ink: `strength` (H, W) 0..1 masked by the atoms (and the one
    pixel rim around them that anti-aliasing leaves), cut around the line and scaled."""
    x0 = min(a.box[0] for a in atoms)
    x1 = max(a.box[2] for a in atoms)
    y0 = min(a.box[1] for a in atoms)
    y1 = max(a.box[3] for a in atoms)
    kept = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for atom in atoms:
        ax0, ay0, ax1, ay1 = atom.box
        kept[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] |= atom.mask
    ink = with_rim(strength, kept, (x0, y0, x1, y1))
    # scale: the line's digits LINE_PX tall, unless the ink (a turned line) needs more room
    scale = max(line.height / LINE_PX, (y1 - y0) / (STRIP_HEIGHT - 2))
    width = (x1 - x0) / scale
    if width > MAX_WIDTH - 2 * MARGIN:
        scale = (x1 - x0) / (MAX_WIDTH - 2 * MARGIN)
    centre = (line.top + line.base) / 2 if (y1 - y0) / scale <= STRIP_HEIGHT - 2 else \
        (y0 + y1) / 2
    top = centre - STRIP_HEIGHT * scale / 2
    top = min(max(top, y1 - STRIP_HEIGHT * scale), float(y0))  # all the ink stays inside
    columns = max(1, round((x1 - x0) / scale))
    rows = max(1, round((y1 - y0) / scale))
    image = Image.fromarray(ink, "F").resize((columns, rows), Image.BOX if scale > 1
                                             else Image.BILINEAR)
    total = -(-(columns + 2 * MARGIN) // FRAME) * FRAME
    strip = np.zeros((STRIP_HEIGHT, total), np.float32)
    row = min(max(0, round((y0 - top) / scale)), STRIP_HEIGHT - rows)
    strip[row:row + rows, MARGIN:MARGIN + columns] = np.asarray(image, np.float32)[:STRIP_HEIGHT]
    return Strip(np.clip(strip, 0.0, 1.0), x0 - MARGIN * scale, top, scale)
