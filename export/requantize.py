"""`make requantize`: a published package's int8 graph made again from its own fp32 graph.

When the quantizer improves (`export.quantize`), the networks a package ships need no retraining
and no run folder: its fp32 graph is the exported ensemble, at parity with the Keras members when
it was published (the manifest records that check). Each member's validation rows are the shared
5-fold split of the training rows, which the manifest's run id fingerprints, so the new int8
graph is judged out of fold exactly as `make export` judged the old one, against the fp32 graph
in place of the Keras members. It is published, with the manifest updated and the previous
int8 graph's figures kept beside the new ones, only if every check passes; the fp32 graph is not
touched.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from export import int8
from export.calibration import calibration_images
from export.convert import run_onnx, session
from export.manifest import (
    EXPORT_LIBRARIES,
    FP32_FILE,
    INT8_FILE,
    MANIFEST_FILE,
    read_manifest,
    sha256,
    variant,
)
from export.parity import (
    Check,
    Thresholds,
    accuracy,
    failure_summary,
    failures,
    int8_checks,
    sanity_checks,
)
from export.pipeline import ensemble_timing, parity_images, refusing_failures
from export.publish import publish
from export.refused import ExportRefused
from export.settings import ExportSettings
from export.timing import graphs_taking_turns
from solution.atomic import write_json
from solution.data.competition import DataError, load_competition, subset
from solution.reporting.provenance import library_versions
from solution.training.cv import data_fingerprint
from solution.training.folds import stratified_folds

Log = Callable[[str], None]
FOLD_MATCH_ROWS = 2  # fp32 vs the manifest's Keras accuracy per fold, in images: the split check


@dataclass(frozen=True)
class PackageMember:
    """A member of a published package: its name, fold, weight and validation rows."""

    name: str
    fold: int
    weight: float
    val_index: np.ndarray
    keras_accuracy: float  # on its fold when exported (the manifest's accuracy_after)


@dataclass
class RequantizeResult:
    published: list[Path]
    checks: list[Check]
    manifest: dict[str, Any]
    before: dict[str, float]  # the previous int8 graph: OOF accuracy, images/s, ms for one
    after: dict[str, float]  # the new one, timed taking turns with it


def requantize_package(models_dir: Path, data: str, settings: ExportSettings | None = None,
                       command: str | None = None, log: Log | None = None) -> RequantizeResult:
    """Re-quantize `models_dir`'s fp32 graph and publish the int8 twin if every check passes."""
    settings = settings or ExportSettings()
    say = log or (lambda _message: None)
    manifest = read_manifest(models_dir)
    fp32 = models_dir / FP32_FILE
    for path in (fp32, models_dir / INT8_FILE):
        if not path.is_file():
            raise ExportRefused(f"{path}: missing; {models_dir} is not a whole published package")
    if sha256(fp32) != manifest["variants"]["fp32"]["sha256"]:
        raise ExportRefused(f"{fp32}: sha256 differs from {models_dir / MANIFEST_FILE}; "
                            "re-quantize only a package as it was published")
    images, labels = training_rows(manifest, data)
    members = package_members(manifest, labels)
    try:
        thresholds = Thresholds(**manifest["thresholds"])
    except TypeError as exc:
        raise ExportRefused(f"manifest thresholds unreadable ({exc})") from None
    started = time.perf_counter()
    with (refusing_failures("re-quantizing", models_dir),
          tempfile.TemporaryDirectory(prefix="digits-requantize-") as tmp):
        work = Path(tmp)
        rows = int8.covered(members, len(labels))
        fp32_probs = int8.member_probs(fp32, images, members, work, settings.threads)
        check_split(members, fp32_probs, labels)
        fp32_oof = int8.oof(members, fp32_probs, len(labels))
        old_oof = int8.onnx_oof(models_dir / INT8_FILE, images, members, work, settings.threads)
        calibration = calibration_images(images, labels, settings.calibration_images,
                                         settings.seed)
        say(f"re-quantizing {fp32}: {len(members)} members, calibration on {len(calibration)} "
            f"training images, methods {', '.join(settings.calibration_methods)}")
        choice = int8.choose_int8(fp32, images, labels, members, fp32_oof, calibration,
                                  settings.calibration_methods, work, settings.threads, say)
        int8_path = work / INT8_FILE
        choice.path.replace(int8_path)
        checks = int8_checks(fp32_oof[rows], choice.oof[rows], labels[rows], thresholds,
                             reference="fp32 ONNX")
        parity_x, _ = parity_images(images, settings.parity_images, settings.seed)
        int8_session = session(int8_path, settings.threads)
        checks += sanity_checks("int8", run_onnx(int8_session, parity_x),
                                run_onnx(int8_session, parity_x[:1]), thresholds)
        timing, timing_note = ensemble_timing(int8_path, len(members), parity_x[:256], work)
        old_speed, new_speed = graphs_taking_turns([models_dir / INT8_FILE, int8_path],
                                                   parity_x[:256])
        before = {"int8_oof": accuracy(old_oof[rows], labels[rows]), **old_speed}
        after = {"int8_oof": accuracy(choice.oof[rows], labels[rows]), **new_speed}
        updated = updated_manifest(
            manifest, work, checks, timing, choice, len(calibration),
            int8.min_confidence_record(choice.oof[rows], labels[rows]), before, after,
            command or " ".join(sys.argv), time.perf_counter() - started)
        failed = failures(checks)
        if failed:
            raise ExportRefused(f"{failure_summary(failed)}; {models_dir} left as it was")
        write_json(work / MANIFEST_FILE, updated)
        placed = publish([int8_path, work / MANIFEST_FILE], models_dir)
    if timing_note:
        say(timing_note)
    say(f"published {', '.join(p.name for p in placed)} into {models_dir}")
    return RequantizeResult(placed, checks, updated, before, after)


def training_rows(manifest: dict[str, Any], data: str) -> tuple[np.ndarray, np.ndarray]:
    """The training rows the package's run used, checked against the run id's fingerprint."""
    expected = manifest["run_id"].split("-data-")[-1].split("-")[0]
    try:
        comp = load_competition(data)
    except DataError as exc:
        raise ExportRefused(f"{exc}; pass --data with the package's training data") from None
    comp = subset(comp, int(manifest["accuracy"]["oof_rows"]))
    if data_fingerprint(comp) != expected:
        raise ExportRefused(f"{data}: not the data the package's run {manifest['run_id']} was "
                            f"trained on (fingerprint {data_fingerprint(comp)}); pass the right "
                            "--data")
    return comp.train_images, comp.train_labels


def package_members(manifest: dict[str, Any], labels: np.ndarray) -> list[PackageMember]:
    """The manifest's members in graph order, each with its fold's validation rows."""
    folds = stratified_folds(labels)
    try:
        return [PackageMember(str(m["member"]), int(m["fold"]), float(m["weight"]),
                              folds[int(m["fold"])][1], float(m["accuracy_after"]))
                for m in manifest["members"]]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ExportRefused(f"manifest members unreadable ({exc})") from None


def check_split(members: list[PackageMember], fp32_probs: list[np.ndarray],
                labels: np.ndarray) -> None:
    """Refuse unless each fp32 member reads its rebuilt fold as the Keras member did: a wrong
    split would judge int8 on rows the members trained on, and every figure would flatter it."""
    for member, probs in zip(members, fp32_probs, strict=True):
        rows = len(member.val_index)
        found = accuracy(probs, labels[member.val_index])
        if abs(found - member.keras_accuracy) * rows > FOLD_MATCH_ROWS + 1e-6:
            raise ExportRefused(
                f"{member.name}: reads its fold at {found:.5f} in fp32, the manifest says "
                f"{member.keras_accuracy:.5f}; the fold split does not match the package's run")


def updated_manifest(manifest: dict[str, Any], work: Path, checks: list[Check],
                     timing: dict[str, float], choice: int8.Int8Choice, calibration: int,
                     min_confidence: dict[str, Any], before: dict[str, float],
                     after: dict[str, float], command: str, seconds: float) -> dict[str, Any]:
    """The manifest with the new int8 graph's figures; the previous ones under `requantized`."""
    created = datetime.now(UTC)
    parity = [c for c in manifest.get("parity", []) if not c["name"].startswith("int8")]
    return {
        **manifest,
        "version": f"{created:%Y.%m.%d.%H%M%S}",
        "created": created.isoformat(timespec="seconds"),
        "variants": {**manifest["variants"], "int8": variant(work / INT8_FILE)},
        "min_confidence": min_confidence["value"],
        "min_confidence_basis": min_confidence,
        "accuracy": {**manifest["accuracy"], "int8_oof": after["int8_oof"]},
        "parity": parity + [c.to_dict() for c in checks],
        "calibration": int8.calibration_record(choice, calibration),
        "timing": timing,
        "versions": library_versions(EXPORT_LIBRARIES),
        "requantized": {
            "command": command, "from_version": manifest.get("version"),
            "from_int8_sha256": manifest["variants"]["int8"]["sha256"],
            "before": before, "after": after, "seconds": round(seconds, 1),
            "note": "int8 graph made again from the package's fp32 graph; members, fp32 graph "
                    "and field thresholds unchanged (make edge-bench re-measures the latter)"},
    }
