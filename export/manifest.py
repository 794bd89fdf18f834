"""`manifest.json` of the edge models folder: what the files are and how they were made.

The edge package reads the input/output contract and verifies each variant's sha256 from here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.convert import BATCH_DIM, INPUT, OUTPUT
from export.refused import ExportRefused
from solution.data.competition import NUM_CLASSES
from solution.reporting.provenance import library_versions

NAME = "digit-recognizer-cnn-ensemble"
FORMAT_VERSION = 1  # bump when the keys below change meaning
INT8_FILE = "digits-int8.onnx"
FP32_FILE = "digits-fp32.onnx"
MANIFEST_FILE = "manifest.json"
PREPROCESSING = (
    "28x28 grayscale digit, white ink on black (MNIST convention), pixel values divided by 255 "
    "to float32 in 0..1, shape [N, 28, 28, 1]; no mean/std normalisation. Dark ink on a light "
    "background must be inverted first; other sizes resized to 28x28 with the digit centred.")

EXPORT_LIBRARIES = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def variant(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size}


def build_manifest(folder: Path, *, run_id: str, command: str, members: list[dict],
                   macs: dict[str, int], accuracy: dict[str, float], parity: list[dict],
                   min_confidence: dict[str, Any], calibration: dict[str, Any],
                   settings: dict[str, Any], thresholds: dict[str, Any], opset: int,
                   timing: dict[str, Any]) -> dict[str, Any]:
    """The manifest of the two model files in `folder` (hashes and sizes read from disk)."""
    created = datetime.now(UTC)
    return {
        "name": NAME,
        "version": f"{created:%Y.%m.%d.%H%M%S}",
        "format_version": FORMAT_VERSION,
        "created": created.isoformat(timespec="seconds"),
        "command": command,
        "run_id": run_id,
        "default_variant": "int8",
        "variants": {"int8": variant(folder / INT8_FILE), "fp32": variant(folder / FP32_FILE)},
        "input": {"name": INPUT, "shape": [BATCH_DIM, 28, 28, 1], "dtype": "float32",
                  "range": [0.0, 1.0]},
        "output": {"name": OUTPUT, "shape": [BATCH_DIM, NUM_CLASSES], "dtype": "float32",
                   "meaning": "mean of the members' softmax probabilities for digits 0..9"},
        "preprocessing": PREPROCESSING,
        "min_confidence": min_confidence["value"],
        "min_confidence_basis": min_confidence,
        "members": members,
        "macs": macs,
        "cv_accuracy": accuracy["run_cv"],
        "accuracy": accuracy,
        "parity": parity,
        "thresholds": thresholds,
        "calibration": calibration,
        "timing": timing,
        "settings": settings,
        "versions": library_versions(EXPORT_LIBRARIES),
        "opset": opset,
    }


def read_manifest(models_dir: Path) -> dict[str, Any]:
    """A published package's manifest, with the keys every reader of it needs, or a refusal."""
    path = models_dir / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ExportRefused(f"{path}: no manifest: not a published edge models folder") from None
    except (OSError, ValueError) as exc:
        raise ExportRefused(f"{path}: unreadable manifest ({exc})") from None
    missing = [key for key in ("run_id", "members", "thresholds", "variants", "accuracy")
               if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise ExportRefused(f"{path}: manifest lacks {', '.join(missing)}")
    return manifest
