"""The glyph model: what kind of glyph a normalised 28x28 image is (a digit, a mark, or other).

The digit ensemble only knows ten classes and is sure of one for anything it is shown; this small
model is what lets a decimal point stay a point and a letter be rejected instead of read as a 4.
It lives beside the digit model (glyphs.onnx + glyphs.json); a digit model folder without one
(a fresh `make export` output) borrows the bundled one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model import companion_json, open_companion

KINDS = ("digit", ".", ",", "-", "$", "other")
GLYPHS_JSON = "glyphs.json"


@dataclass(frozen=True)
class GlyphModel:
    """An onnxruntime session of the glyph model and where it came from."""

    path: Path
    session: object

    def kinds(self, batch: np.ndarray) -> np.ndarray:
        """(N, 6) float32 probabilities over KINDS for an (N, 28, 28) float32 0..1 batch."""
        if not len(batch):
            return np.zeros((0, len(KINDS)), np.float32)
        chunk = batch[..., None].astype(np.float32, copy=False)
        return self.session.run(["kinds"], {"image": chunk})[0]


def glyph_json_for(model_path: Path) -> Path:
    """glyphs.json beside the digit model, else the bundled one."""
    return companion_json(model_path, GLYPHS_JSON)


def open_glyph_model(model_path: Path, threads: int | None) -> GlyphModel:
    path, _, session = open_companion(
        glyph_json_for(model_path), "glyph model", threads,
        lambda entry: entry.get("kinds") == list(KINDS), f"expected kinds {list(KINDS)}")
    return GlyphModel(path, session)
