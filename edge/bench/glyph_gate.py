"""What the glyph model costs classify() on real digits: rejects added at the default threshold.

Kaggle arrays (MNIST convention) of chosen train.csv rows go through DigitReader.classify with
the bundled models; argmax and min_confidence=0 must not change (the digit model is the same),
and at the manifest's min_confidence the "no digit" kind adds some rejects, printed here.

    .venv/bin/python -m edge.bench.glyph_gate --rows 30000-41999
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digit_edge import DigitReader
from edge.bench.sources import DEFAULT_ZIP, kaggle_digits, parse_rows


def main() -> None:
    parser = argparse.ArgumentParser(description="Rejects the glyph model adds to classify().")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--rows", default="30000-41999")
    args = parser.parse_args()
    images, labels = kaggle_digits(args.zip, parse_rows(args.rows))
    reader = DigitReader(threads=1)
    result = reader.classify(images)
    everything = DigitReader(threads=1, min_confidence=0.0).classify(images)
    by_confidence = float((result.confidences < reader.min_confidence).mean())
    accepted = result.digits >= 0
    accepted_right = (result.digits[accepted] == labels[accepted]).mean()
    print(f"{len(labels)} digits; argmax accuracy "
          f"{(result.probabilities.argmax(axis=1) == labels).mean():.4%}; with min_confidence 0 "
          f"{(everything.digits == labels).mean():.4%}")
    print(f"at min_confidence {reader.min_confidence}: rejected {(~accepted).mean():.2%} "
          f"({by_confidence:.2%} by confidence alone; {(result.kinds != 'digit').mean():.2%} "
          f"called no digit), accepted right {accepted_right:.4%}")


if __name__ == "__main__":
    main()
