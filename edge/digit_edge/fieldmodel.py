"""The field model: reads a whole field strip (strip.py) into per-frame character probabilities.

It lives beside the digit model (fields.onnx + fields.json, written by `make field-model`); a
digit model folder without one borrows the bundled one, and a package without any reads fields
with the segmenting reader alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ctc import ALPHABET, BLANK
from .model import companion_json, open_companion
from .strip import STRIP_HEIGHT

FIELDS_JSON = "fields.json"


@dataclass(frozen=True)
class FieldModel:
    """An onnxruntime session of the field model and what its JSON says."""

    path: Path
    entry: dict
    session: object

    def probabilities(self, strip: np.ndarray) -> np.ndarray:
        """(T, 15) float32 per-frame probabilities (blank first) for one (32, W) strip."""
        batch = strip[None, :, :, None].astype(np.float32, copy=False)
        return self.session.run(["probabilities"], {"strip": batch})[0][0]


def open_field_model(model_path: Path, threads: int | None) -> FieldModel | None:
    """The field model beside the digit model or bundled; None where the package has none."""
    described = companion_json(model_path, FIELDS_JSON)
    if not described.is_file():
        return None
    path, entry, session = open_companion(
        described, "field model", threads,
        lambda e: e.get("alphabet") == ALPHABET and e.get("blank") == BLANK
        and e.get("strip_height") == STRIP_HEIGHT,
        f"expected alphabet {ALPHABET!r}, blank {BLANK}, strip height {STRIP_HEIGHT}")
    return FieldModel(path, entry, session)
