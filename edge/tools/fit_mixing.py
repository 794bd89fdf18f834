"""Choose how the two readers' beliefs are mixed (combine.Mixing) on held-out fields.

Each field is read once with the bundled models, its candidates (every text either reader
proposed, with both readers' belief in it) captured; then every mixing of a small grid is scored
on them: share entirely right, and read rate at 1% field error. Two sets: the bench's calibration
fields (scikit-learn digits, the even half) and fields of the odd half written the hard way
(edge/tools/field_data.py: broken strokes, touching digits, slant, dust, JPEG), since real ink is
the hard kind. Prints the table; combine.py's constants are set by hand from it.

    .venv/bin/python -m edge.tools.fit_mixing --calibration build/edge/sklearn-fields-calibration
"""

from __future__ import annotations

import argparse
import csv
import itertools
from pathlib import Path

import numpy as np

import digit_edge.reader as reader_module
from digit_edge import DigitEdgeError, DigitReader
from digit_edge.bench import read_rates
from digit_edge.combine import Candidate, Mixing, choose, weight
from edge.bench.make_fields import DigitPool, field_tokens
from edge.bench.sources import sklearn_digits
from edge.tools.field_data import Hardness, write

FORCED = 10.0  # the reader's: a format reading 10x less likely than the best is a reject
Captured = list[tuple[str, list[Candidate] | None]]


def capture(reader: DigitReader, fields: list[tuple[object, str, str]]) -> Captured:
    """(label, the candidates read_field weighed, or None where it refused the image)."""
    seen: list[list[Candidate]] = []
    original = reader_module.choose

    def spy(found: list[Candidate], mixing: Mixing):
        seen.append(found)
        return original(found, mixing)

    reader_module.choose = spy
    out: Captured = []
    try:
        for image, label, fmt in fields:
            seen.clear()
            try:
                reader.read_field(image, fmt, min_confidence=0.0, field_min_confidence=0.0)
                out.append((label, seen[0] if seen else None))
            except DigitEdgeError:
                out.append((label, None))
    finally:
        reader_module.choose = original
    return out


def score(data: Captured, mixing: Mixing) -> tuple[float, float]:
    """(share entirely right, read rate at 1% field error) under `mixing`."""
    right, confidence = [], []
    for label, found in data:
        if not found:
            right.append(False)
            confidence.append(-1.0)
            continue
        best, overall, share = choose(found, mixing)
        forced = best is None or weight(overall, mixing) > FORCED * weight(best, mixing)
        right.append(bool(not forced and best.text == label))
        confidence.append(-1.0 if forced else share)
    right_array, confidence_array = np.array(right), np.array(confidence)
    return float(right_array.mean()), read_rates(right_array, confidence_array)["0.01"]["read_rate"]


def hard_fields(count: int, seed: int) -> list[tuple[object, str, str]]:
    digits, labels = sklearn_digits()
    digits, labels = digits[1::2], labels[1::2]  # the bench's held-out half
    rng = np.random.default_rng(seed)
    pool = DigitPool(digits, labels, rng)
    fields = []
    for index in range(count):
        kind = ("zip", "zip+4", "amount")[index % 3]
        chars, label = field_tokens(kind, rng)
        fields.append((write(chars, pool, rng, Hardness()), label, kind))
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description="Score mixings of the two field readers.")
    parser.add_argument("--calibration", type=Path,
                        default=Path("build/edge/sklearn-fields-calibration"))
    parser.add_argument("--fields", type=int, default=600, help="calibration fields used")
    parser.add_argument("--hard", type=int, default=300, help="hard fields written")
    args = parser.parse_args()
    with (args.calibration / "labels.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))[:args.fields]
    reader = DigitReader(threads=2)
    calibration = capture(reader, [(args.calibration / r["file"], r["label"], r["format"])
                                   for r in rows])
    hard = capture(reader, hard_fields(args.hard, 11))
    print("ctc_w lat_w ctc_floor lat_floor | calibration: right read@1% | hard: right read@1%")
    for grid in itertools.product([1.0, 0.5], [1.0, 0.5], [1e-3, 1e-2], [1e-3, 1e-2, 0.05, 0.2]):
        mixing = Mixing(*grid)
        (a, b), (c, d) = score(calibration, mixing), score(hard, mixing)
        print(f"{grid[0]:5} {grid[1]:5} {grid[2]:9} {grid[3]:9} | {a:.3f} {b:.3f} | "
              f"{c:.3f} {d:.3f}")
    for name, mixing in (("lattice alone", Mixing(0.0, 1.0)), ("field alone", Mixing(1.0, 0.0))):
        print(name, score(calibration, mixing), score(hard, mixing))


if __name__ == "__main__":
    main()
