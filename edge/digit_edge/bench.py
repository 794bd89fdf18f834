"""`digit-edge bench`: accuracy, the error-reject trade-off and speed on a labelled folder.

labels.csv has two columns, file (relative to the folder) and label. Labels of one character
bench single digits (classify); longer labels bench fields (read_field), judged whole.
Timings warm up once, repeat, and report the median, as onnxruntime's own examples do.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calibrate import fit
from .errors import DigitEdgeError, InputError, ModelError
from .formats import FormatError, parse_format
from .model import MANIFEST
from .reader import DigitReader

THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


class LabelsError(DigitEdgeError):
    """labels.csv is missing, malformed, or names files that are not there."""


FIELD_CHARS = frozenset("0123456789.,-$")
ERROR_TARGETS = (0.005, 0.01, 0.02)  # field error rates the read rate is reported at
RECORD_TARGET = 0.01                 # --record: the threshold for at most 1% wrong accepted fields


@dataclass(frozen=True)
class Labelled:
    paths: list[Path]
    labels: list[str]
    formats: list[str | None]

    @property
    def fields(self) -> bool:
        return any(len(label) != 1 for label in self.labels) or any(self.formats)


def read_labels(directory: Path, labels_csv: Path) -> Labelled:
    """Rows (file, label[, format]); a header row is skipped. Labels stay strings: "06614"
    keeps its 0, "$1,234.56" its marks. format is zip, zip+4, amount, digits or empty."""
    if not labels_csv.is_file():
        raise LabelsError(f"{labels_csv}: no such file")
    paths, labels, formats = [], [], []
    with labels_csv.open(newline="") as stream:
        for number, row in enumerate(csv.reader(stream), start=1):
            if not row or (number == 1 and row[0].strip().lower() == "file"):
                continue
            label = row[1].strip() if len(row) >= 2 else ""
            if not label or not set(label) <= FIELD_CHARS or not any(c.isdigit() for c in label):
                raise LabelsError(f"{labels_csv}:{number}: expected `file,label[,format]` with "
                                  f"a label of digits and marks (.,-$), got {row}")
            fmt = row[2].strip() or None if len(row) >= 3 else None
            try:
                parse_format(fmt)
            except FormatError as exc:
                raise LabelsError(f"{labels_csv}:{number}: {exc}") from None
            paths.append(directory / row[0].strip())
            labels.append(label)
            formats.append(fmt)
    if not paths:
        raise LabelsError(f"{labels_csv}: no labelled rows")
    return Labelled(paths, labels, formats)


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up: first-call allocations and caches are not what a long run pays
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def tradeoff(correct: np.ndarray, confidence: np.ndarray,
             thresholds: tuple[float, ...]) -> list[dict[str, float]]:
    """Per threshold: share rejected, share accepted but wrong (errors), accuracy when accepted.

    A field is accepted when its least confident digit clears the threshold.
    """
    rows = []
    for threshold in sorted(set(thresholds)):
        accepted = confidence >= threshold
        errors = accepted & ~correct
        rows.append({"min_confidence": float(threshold),
                     "rejected": float(1 - accepted.mean()),
                     "errors": float(errors.mean()),
                     "accepted_accuracy": float(correct[accepted].mean()) if accepted.any()
                     else float("nan")})
    return rows


def bench(reader: DigitReader, directory: Path, labels_csv: Path, repeats: int = 5) -> dict:
    data = read_labels(directory, labels_csv)
    missing = [str(p) for p in data.paths if not p.is_file()]
    if missing:
        raise LabelsError(f"{labels_csv}: {len(missing)} listed files missing, e.g. {missing[0]}")
    if data.fields:
        return _bench_fields(reader, data, repeats)
    return _bench_digits(reader, data, repeats)


def _bench_digits(reader: DigitReader, data: Labelled, repeats: int) -> dict:
    truth = np.array([int(label) for label in data.labels])
    batch, errors = reader.prepare(data.paths)
    probabilities = reader.predict(batch)
    result = reader.decide(probabilities, errors)
    predicted = np.where(result.ok, probabilities.argmax(axis=1), -1)
    correct = predicted == truth
    confidence = np.where(result.ok, result.confidences, -1.0)
    count = len(truth)
    normalise = median_seconds(lambda: reader.prepare(data.paths), repeats) / count
    batched = median_seconds(lambda: reader.predict(batch), repeats) / count
    singles = batch[: min(count, 100)]
    one_by_one = median_seconds(lambda: [reader.predict(d[None]) for d in singles],
                                repeats) / len(singles)
    return {
        "mode": "digits", "count": count, "unreadable": len(errors),
        "accuracy": float(correct.mean()), "min_confidence": reader.min_confidence,
        "at_min_confidence": tradeoff(correct, confidence, (reader.min_confidence,))[0],
        "tradeoff": tradeoff(correct, confidence, (*THRESHOLDS, reader.min_confidence)),
        "ms_per_image": {"decode_and_normalise": 1000 * normalise,
                         "inference_batched": 1000 * batched,
                         "inference_batch_of_1": 1000 * one_by_one},
        "model": str(reader.spec.path),
    }


def _bench_fields(reader: DigitReader, data: Labelled, repeats: int) -> dict:
    """Fields are judged whole: right when the text is the label. A field that does not fit its
    format is a reject; the others are accepted when their confidence clears the threshold."""
    correct, confidence, count_right, fits = [], [], [], []
    unreadable = 0
    for path, label, fmt in zip(data.paths, data.labels, data.formats, strict=True):
        try:
            reading = reader.read_field(path, fmt, min_confidence=0.0, field_min_confidence=0.0)
        except InputError:
            unreadable += 1
            reading = None
        correct.append(reading is not None and reading.text == label)
        fits.append(reading is not None and not reading.rejected)
        confidence.append(reading.confidence if reading is not None and not reading.rejected
                          else -1.0)
        count_right.append(reading is not None and  # a ZIP+4 may be written without its hyphen
                           len(reading.digits) == sum(c.isdigit() for c in label))
    right, conf = np.array(correct), np.array(confidence)
    reliability = calibration(right, conf)
    formats = np.array([f or "free" for f in data.formats])
    count = len(data.paths)
    by_format = {}
    for name in dict.fromkeys(formats):
        rows = formats == name
        subset = [p for p, keep in zip(data.paths, rows, strict=True) if keep][:50]
        fmt = None if name == "free" else str(name)
        seconds = median_seconds(lambda s=subset, f=fmt: [reader.read_field(p, f) for p in s],
                                 repeats) / len(subset)
        threshold = reader.spec.field_threshold(fmt)
        by_format[str(name)] = {"count": int(rows.sum()), "accuracy": float(right[rows].mean()),
                                "threshold": threshold,
                                "read_rate": read_rates(right[rows], conf[rows]),
                                "at_threshold": tradeoff(right[rows], conf[rows], (threshold,))[0],
                                "ms_per_field": 1000 * seconds}
    return {
        "mode": "fields", "count": count, "unreadable": unreadable,
        "accuracy": float(right.mean()),
        "segmentation_accuracy": float(np.mean(count_right)),
        "fit_format": float(np.mean(fits)),
        "field_min_confidence": reader.field_min_confidence,
        "field_threshold_by_format": {name: f["threshold"] for name, f in by_format.items()},
        "read_rate": read_rates(right, conf),
        "by_format": by_format,
        "calibration": reliability,
        "calibration_error": calibration_error(reliability),
        "tradeoff": tradeoff(right, conf, (*THRESHOLDS, reader.field_min_confidence)),
        "ms_per_field": float(np.mean([f["ms_per_field"] for f in by_format.values()])),
        "model": str(reader.spec.path),
        "calibrated": sorted(reader.calibration),
        "per_field": {"right": right, "confidence": conf, "formats": formats},
    }


def read_rates(correct: np.ndarray, confidence: np.ndarray,
               targets: tuple[float, ...] = ERROR_TARGETS) -> dict[str, dict[str, float]]:
    """Per target error rate: the lowest confidence threshold at which at most that share of the
    accepted fields is wrong, and the share of all fields then read right (the read rate)."""
    order = np.argsort(-confidence, kind="stable")
    ranked_right, ranked_conf = correct[order], confidence[order]
    accepted = np.arange(1, len(order) + 1)
    wrong = np.cumsum(~ranked_right)
    out = {}
    for target in targets:
        usable = (wrong / accepted <= target) & (ranked_conf >= 0)
        # only cut between different confidences: ties are accepted or rejected together
        usable &= np.append(ranked_conf[1:] < ranked_conf[:-1], True)
        if not usable.any():
            out[f"{target:g}"] = {"threshold": float("nan"), "read_rate": 0.0, "error": 0.0}
            continue
        last = int(np.flatnonzero(usable)[-1])
        out[f"{target:g}"] = {"threshold": float(ranked_conf[last]),
                              "read_rate": float(ranked_right[:last + 1].sum() / len(order)),
                              "error": float(wrong[last] / accepted[last])}
    return out


def calibration(correct: np.ndarray, confidence: np.ndarray,
                edges: tuple[float, ...] = tuple(np.linspace(0, 1, 11))) -> list[dict]:
    """The reliability table: mean confidence against the share right, per confidence band of
    the fields that fit their format. An honest confidence has them equal in every band."""
    rows = []
    for low, high in itertools.pairwise(edges):
        band = (confidence >= low) & ((confidence < high) if high < 1 else (confidence <= 1))
        if band.any():
            rows.append({"band": f"{low:.1f}-{high:.1f}", "count": int(band.sum()),
                         "mean_confidence": float(confidence[band].mean()),
                         "accuracy": float(correct[band].mean())})
    return rows


def calibration_error(rows: list[dict]) -> float:
    """Expected calibration error: the count-weighted mean |share right - mean confidence|."""
    total = sum(r["count"] for r in rows)
    return sum(r["count"] * abs(r["accuracy"] - r["mean_confidence"]) for r in rows) / \
        max(total, 1)


def record_field_threshold(reader: DigitReader, report: dict) -> dict:
    """Fit the field confidence's calibration per format on this (held-out) set, then write it
    and the thresholds for RECORD_TARGET field error on the calibrated confidences into the
    model's manifest, atomically. The report must come from a reader with no calibration in
    force (the CLI's --record clears it), so the fit sees the raw confidence."""
    if report["mode"] != "fields":
        raise LabelsError("--record needs field labels (a field set), not single digits")
    manifest_path = reader.spec.path.parent / MANIFEST
    if not reader.spec.manifest or not manifest_path.is_file():
        raise ModelError(f"{reader.spec.path}: no manifest.json beside it to record into")
    fields = report["per_field"]
    right, raw, formats = fields["right"], fields["confidence"], fields["formats"]
    fits = raw >= 0  # fields that fit their format: the others are rejected whatever they say
    maps = {str(name): fit(raw[fits & (formats == name)], right[fits & (formats == name)])
            for name in dict.fromkeys(formats) if (fits & (formats == name)).sum() >= 20}
    calibrated = np.array([maps[str(f)](float(c)) if c >= 0 and str(f) in maps else c
                           for f, c in zip(formats, raw, strict=True)])
    target = f"{RECORD_TARGET:g}"
    overall = read_rates(right, calibrated)[target]
    by_format = {str(name): read_rates(right[formats == name], calibrated[formats == name])[target]
                 for name in dict.fromkeys(formats)}
    manifest = dict(reader.spec.manifest)
    manifest["field_calibration"] = {name: platt.as_json() for name, platt in maps.items()}
    manifest["field_min_confidence"] = round(overall["threshold"], 6)
    manifest["field_min_confidence_by_format"] = {
        name: round(rates["threshold"], 6) for name, rates in by_format.items()
        if math.isfinite(rates["threshold"])}
    manifest["field_min_confidence_basis"] = {
        "target_error": RECORD_TARGET, "fields": report["count"],
        "read_rate": overall["read_rate"], "error": overall["error"], "by_format": by_format,
        "calibration_error_after_fit": calibration_error(calibration(right, calibrated)),
        "calibration_error_before_fit": report["calibration_error"],
        "measured_by": "digit-edge bench --record on held-out rendered fields",
    }
    tmp = manifest_path.with_name(f".{manifest_path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    return {"field_min_confidence": manifest["field_min_confidence"],
            "by_format": manifest["field_min_confidence_by_format"],
            "calibration": manifest["field_calibration"], "manifest": str(manifest_path)}


def format_report(report: dict) -> str:
    lines = [f"model: {report['model']}",
             f"{report['mode']}: {report['count']} ({report['unreadable']} unreadable)",
             f"accuracy (no reject): {100 * report['accuracy']:.2f}%"]
    if report["mode"] == "fields":
        return "\n".join(lines + _field_lines(report))
    lines += ["", "min_confidence  rejected  errors  accuracy when accepted"]
    for row in report["tradeoff"]:
        mark = "  <- current" if row["min_confidence"] == report["min_confidence"] else ""
        lines.append(f"{row['min_confidence']:>14.4f}  {100 * row['rejected']:7.2f}%  "
                     f"{100 * row['errors']:5.2f}%  {100 * row['accepted_accuracy']:8.2f}%{mark}")
    ms = report["ms_per_image"]
    lines += ["", f"speed (median, ms per image): decode+normalise "
              f"{ms['decode_and_normalise']:.3f}, inference batched "
              f"{ms['inference_batched']:.3f}, inference one at a time "
              f"{ms['inference_batch_of_1']:.3f}"]
    return "\n".join(lines)


def _field_lines(report: dict) -> list[str]:
    targets = list(report["read_rate"])
    lines = [f"digit count right: {100 * report['segmentation_accuracy']:.2f}% of fields",
             f"fit their format: {100 * report['fit_format']:.2f}% of fields", "",
             "format    fields  right   "
             + "  ".join(f"read@{float(t) * 100:g}%err" for t in targets) + "  ms/field"]
    for name, row in [*report["by_format"].items(), ("all", report)]:
        rates = "  ".join(f"{100 * row['read_rate'][t]['read_rate']:>11.2f}%" for t in targets)
        count = row["count"]
        lines.append(f"{name:<8}  {count:>6}  {100 * row['accuracy']:6.2f}%  {rates}  "
                     f"{row['ms_per_field']:8.2f}")
    lines += ["", "field confidence threshold for " + ", ".join(
        f"{float(t) * 100:g}% error: {report['read_rate'][t]['threshold']:.4f}" for t in targets),
        "recorded field thresholds: " + ", ".join(
            f"{name} {value:.4f}" for name, value in report["field_threshold_by_format"].items()),
        ""]
    for name, row in report["by_format"].items():
        at = row["at_threshold"]
        lines.append(f"at the recorded {name} threshold: {100 * at['rejected']:.2f}% rejected, "
                     f"{100 * at['errors']:.2f}% of fields accepted wrong, accepted "
                     f"{100 * at['accepted_accuracy']:.2f}% right")
    lines += ["", "reliability: confidence band  fields  mean confidence  right"]
    for row in report["calibration"]:
        lines.append(f"{row['band']:>28}  {row['count']:>6}  {row['mean_confidence']:15.4f}  "
                     f"{100 * row['accuracy']:5.2f}%")
    lines.append(f"calibration error (count-weighted |right - confidence|): "
                 f"{report['calibration_error']:.4f}")
    if "recorded" in report:
        recorded = report["recorded"]
        lines += ["", f"recorded field_min_confidence {recorded['field_min_confidence']} and by "
                  f"format {recorded['by_format']} in {recorded['manifest']}"]
    lines += ["", "speed: median ms per field, end to end, one field at a time"]
    return lines
