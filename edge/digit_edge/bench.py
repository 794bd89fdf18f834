"""`digit-edge bench`: accuracy, the error-reject trade-off and speed on a labelled folder.

labels.csv has two columns, file (relative to the folder) and label. Labels of one character
bench single digits (classify); longer labels bench fields (read_field), judged whole.
Timings warm up once, repeat, and report the median, as onnxruntime's own examples do.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DigitEdgeError, InputError
from .reader import DigitReader

THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


class LabelsError(DigitEdgeError):
    """labels.csv is missing, malformed, or names files that are not there."""


@dataclass(frozen=True)
class Labelled:
    paths: list[Path]
    labels: list[str]

    @property
    def fields(self) -> bool:
        return any(len(label) != 1 for label in self.labels)


def read_labels(directory: Path, labels_csv: Path) -> Labelled:
    """Rows (file, label); a header row is skipped. Labels stay strings: "06614" keeps its 0."""
    if not labels_csv.is_file():
        raise LabelsError(f"{labels_csv}: no such file")
    paths, labels = [], []
    with labels_csv.open(newline="") as stream:
        for number, row in enumerate(csv.reader(stream), start=1):
            if not row or (number == 1 and not row[-1].strip().isdigit()):
                continue
            if len(row) < 2 or not row[1].strip().isdigit():
                raise LabelsError(f"{labels_csv}:{number}: expected `file,label` with a digit "
                                  f"string label, got {row}")
            paths.append(directory / row[0].strip())
            labels.append(row[1].strip())
    if not paths:
        raise LabelsError(f"{labels_csv}: no labelled rows")
    return Labelled(paths, labels)


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
    correct, confidence, count_right = [], [], []
    unreadable = 0
    for path, label in zip(data.paths, data.labels, strict=True):
        try:
            reading = reader.read_field(path, min_confidence=0.0)  # rejects: from confidences
        except InputError:
            unreadable += 1
            reading = None
        digits = reading.digits if reading else []
        correct.append(reading is not None and reading.text == label)
        confidence.append(min((d.confidence for d in digits), default=-1.0))
        count_right.append(len(digits) == len(label))
    correct_arr, conf = np.array(correct), np.array(confidence)
    count = len(data.paths)
    per_field = median_seconds(lambda: reader.read_fields(data.paths), repeats) / count
    return {
        "mode": "fields", "count": count, "unreadable": unreadable,
        "accuracy": float(correct_arr.mean()),
        "segmentation_accuracy": float(np.mean(count_right)),
        "min_confidence": reader.min_confidence,
        "at_min_confidence": tradeoff(correct_arr, conf, (reader.min_confidence,))[0],
        "tradeoff": tradeoff(correct_arr, conf, (*THRESHOLDS, reader.min_confidence)),
        "ms_per_field": 1000 * per_field,
        "model": str(reader.spec.path),
    }


def format_report(report: dict) -> str:
    lines = [f"model: {report['model']}",
             f"{report['mode']}: {report['count']} ({report['unreadable']} unreadable)",
             f"accuracy (no reject): {100 * report['accuracy']:.2f}%"]
    if report["mode"] == "fields":
        lines.append(f"digit count right: {100 * report['segmentation_accuracy']:.2f}% of fields")
    lines += ["", "min_confidence  rejected  errors  accuracy when accepted"]
    for row in report["tradeoff"]:
        mark = "  <- current" if row["min_confidence"] == report["min_confidence"] else ""
        lines.append(f"{row['min_confidence']:>14.4f}  {100 * row['rejected']:7.2f}%  "
                     f"{100 * row['errors']:5.2f}%  {100 * row['accepted_accuracy']:8.2f}%{mark}")
    lines.append("")
    if report["mode"] == "digits":
        ms = report["ms_per_image"]
        lines.append(f"speed (median, ms per image): decode+normalise "
                     f"{ms['decode_and_normalise']:.3f}, inference batched "
                     f"{ms['inference_batched']:.3f}, inference one at a time "
                     f"{ms['inference_batch_of_1']:.3f}")
    else:
        lines.append(f"speed (median): {report['ms_per_field']:.2f} ms per field, end to end")
    return "\n".join(lines)
