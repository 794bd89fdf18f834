"""Find, verify and open the ONNX model: manifest, sha256 check, one onnxruntime session.

The model contract (shared with `make export`): models/manifest.json lists variants
{"int8": {file, sha256, bytes}, "fp32": {...}}; each file takes `image` float32 [N, 28, 28, 1]
0..1 and gives `probabilities` float32 [N, 10]. onnxruntime is imported here, lazily, so that
`import digit_edge` stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelError, ModelIntegrityError, ModelNotFoundError

BUNDLED = Path(__file__).resolve().parent / "models"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelSpec:
    """Which file to load and what its manifest says (empty when it has none)."""

    path: Path
    variant: str | None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def min_confidence(self) -> float:
        """The manifest's recommended reject threshold; 0 (reject nothing) when it gives none."""
        value = self.manifest.get("min_confidence")
        return float(value) if isinstance(value, int | float) else 0.0

    @property
    def field_min_confidence(self) -> float:
        """The recommended field threshold (`digit-edge bench --record` measures it on held-out
        fields); 0 (reject no field for its confidence) when none was recorded."""
        value = self.manifest.get("field_min_confidence")
        return float(value) if isinstance(value, int | float) else 0.0

    def field_threshold(self, format_name: str | None) -> float:
        """The recorded threshold for fields of this format (longer fields have lower confidence,
        so each format has its own), else field_min_confidence."""
        by_format = self.manifest.get("field_min_confidence_by_format")
        value = by_format.get(format_name or "free") if isinstance(by_format, dict) else None
        return float(value) if isinstance(value, int | float) else self.field_min_confidence


def resolve(model: str | os.PathLike | None = None) -> ModelSpec:
    """The model to use for `model`, verified against its manifest's sha256.

    None -> the bundled default variant; "int8" / "fp32" -> that bundled variant; a folder or a
    manifest.json -> its default variant; an .onnx file -> that file, verified when a manifest
    beside it lists it (a model without a manifest is loaded unverified).
    """
    if model is None or (isinstance(model, str) and not Path(model).exists()
                         and model in ("int8", "fp32")):
        return _from_manifest(BUNDLED / MANIFEST, None if model is None else str(model))
    path = Path(model)
    if not path.exists():
        raise ModelNotFoundError(f"model {path}: no such file or folder")
    if path.is_dir():
        return _from_manifest(path / MANIFEST, None)
    if path.name.endswith(".json"):
        return _from_manifest(path, None)
    sidecar = path.parent / MANIFEST
    if sidecar.is_file():
        manifest = _read_manifest(sidecar)
        for name, entry in manifest.get("variants", {}).items():
            if isinstance(entry, dict) and entry.get("file") == path.name:
                verify_file(path, entry, sidecar)
                return ModelSpec(path, name, manifest)
    return ModelSpec(path, None, {})


def open_session(spec: ModelSpec, threads: int | None = None):
    """One onnxruntime InferenceSession on the CPU, graph optimisations on, checked against the
    contract. threads: intra-op threads (None = onnxruntime's default, one per physical core)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(spec.path), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"model {spec.path}: onnxruntime cannot load it ({_first_line(exc)})") \
            from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != "image" or list(inputs[0].shape[1:]) != [28, 28, 1]:
        found = [(i.name, i.shape) for i in inputs]
        raise ModelError(f"model {spec.path}: expected one input `image` [N, 28, 28, 1], "
                         f"found {found}")
    if outputs[0].name != "probabilities" or outputs[0].shape[-1] != 10:
        raise ModelError(f"model {spec.path}: expected output `probabilities` [N, 10], found "
                         f"{outputs[0].name} {outputs[0].shape}")
    return session


def session_options(threads: int | None):
    """CPU session options shared by every model of the package: full graph optimisation,
    sequential execution, `threads` intra-op threads (None = onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's concern
    return options


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _from_manifest(manifest_path: Path, variant: str | None) -> ModelSpec:
    manifest = _read_manifest(manifest_path)
    variants = manifest.get("variants")
    variant = variant or manifest.get("default_variant")
    if not isinstance(variants, dict) or variant not in variants:
        known = sorted(variants) if isinstance(variants, dict) else []
        raise ModelError(f"{manifest_path}: no variant {variant!r} (has {known})")
    entry = variants[variant]
    if not isinstance(entry, dict) or "file" not in entry:
        raise ModelError(f"{manifest_path}: variant {variant!r} names no file")
    path = manifest_path.parent / entry["file"]
    verify_file(path, entry, manifest_path)
    return ModelSpec(path, variant, manifest)


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelNotFoundError(f"model manifest {path}: no such file (run `make export`, or "
                                 "pass --model path/to/model.onnx)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model manifest {path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"model manifest {path}: expected a JSON object")
    return manifest


def verify_file(path: Path, entry: dict[str, Any], manifest_path: Path) -> None:
    """Raise unless `path` exists and its sha256 is the one `entry` of `manifest_path` lists."""
    if not path.is_file():
        raise ModelNotFoundError(f"model file {path}: missing (listed in {manifest_path})")
    expected = entry.get("sha256")
    if not expected:
        raise ModelIntegrityError(f"{manifest_path}: no sha256 for {path.name}")
    actual = sha256(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"model file {path}: sha256 {actual[:12]}... does not match the manifest's "
            f"{str(expected)[:12]}... (changed, truncated or corrupt; reinstall or re-export)")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1][:200] if text else type(exc).__name__


def companion_json(model_path: Path, name: str) -> Path:
    """A companion model's JSON (glyphs.json, fields.json) beside the digit model, else the
    bundled one: a fresh `make export` folder borrows the package's."""
    beside = model_path.parent / name
    return beside if beside.is_file() else BUNDLED / name


def open_companion(described: Path, what: str, threads: int | None,
                   fits: Callable[[dict], bool], expected: str) -> tuple[Path, dict, Any]:
    """(model path, its JSON entry, onnxruntime session) of a companion model, verified by the
    sha256 its JSON lists; `fits` checks the entry's contract (`expected` says what it wants)."""
    import onnxruntime as ort

    if not described.is_file():
        raise ModelNotFoundError(f"{what} {described}: no such file (reinstall digit-edge)")
    try:
        entry = json.loads(described.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{what} {described}: not valid JSON ({exc})") from None
    if not isinstance(entry, dict) or "file" not in entry or not fits(entry):
        raise ModelError(f"{what} {described}: {expected} and a file")
    path = described.parent / entry["file"]
    verify_file(path, entry, described)
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"{what} {path}: onnxruntime cannot load it ({exc})") from None
    return path, entry, session
