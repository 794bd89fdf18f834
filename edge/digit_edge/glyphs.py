"""The glyph model: what kind of glyph a normalised 28x28 image is (a digit, a mark, or other).

The digit ensemble only knows ten classes and is sure of one for anything it is shown; this small
model is what lets a decimal point stay a point and a letter be rejected instead of read as a 4.
It lives beside the digit model (glyphs.onnx + glyphs.json); a digit model folder without one
(a fresh `make export` output) borrows the bundled one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError, ModelNotFoundError
from .model import BUNDLED, session_options, verify_file

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
    beside = model_path.parent / GLYPHS_JSON
    return beside if beside.is_file() else BUNDLED / GLYPHS_JSON


def open_glyph_model(model_path: Path, threads: int | None) -> GlyphModel:
    import onnxruntime as ort

    described = glyph_json_for(model_path)
    if not described.is_file():
        raise ModelNotFoundError(f"glyph model {described}: no such file (reinstall digit-edge)")
    try:
        entry = json.loads(described.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"glyph model {described}: not valid JSON ({exc})") from None
    if not isinstance(entry, dict) or entry.get("kinds") != list(KINDS) or "file" not in entry:
        raise ModelError(f"glyph model {described}: expected kinds {list(KINDS)} and a file")
    path = described.parent / entry["file"]
    verify_file(path, entry, described)
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"glyph model {path}: onnxruntime cannot load it ({exc})") from None
    return GlyphModel(path, session)
