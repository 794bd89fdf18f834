"""Labelled fields as people write them: ZIP, ZIP+4 and check amounts, with pen-drawn marks.

Each field is laid out on a line the way a hand writes it: digits of varying height and baseline,
uneven gaps, some neighbours touching, some strokes broken; hyphens, decimal points, commas and
dollar signs drawn with a pen of the digits' width; then scanned (enlarged 1.5-3.5x, blurred,
dark on light paper, sensor noise). labels.csv holds file,label,format where label is the text
the reader must return in that format ("12345-6789", "$1,234.56", "60614").

Digits come from scikit-learn's digits by default (writers the bundled model never saw) or from
chosen train.csv rows. --form guide|box|comb writes the same kinds of fields on a printed form
(edge/bench/forms.py): a guide line, an amount box, comb boxes, on grey speckled paper, as JPEG.

    .venv/bin/python -m edge.bench.make_fields --source sklearn --fields 1000 --out build/edge/f
    digit-edge bench build/edge/f --labels build/edge/f/labels.csv
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from PIL import Image

from edge.bench.forms import FORMS, fill_form, jpeg_quality
from edge.bench.pen import break_stroke, compose, digit_ink, mark_ink, scan, stroke_px
from edge.bench.sources import add_source_options, load_source, write_labels

FORMATS = ("zip", "zip+4", "amount")
TOUCHING = 0.12      # share of digit-to-digit gaps where the neighbours touch
BROKEN = 0.06        # share of digits with a skipped stroke
NO_HYPHEN = 0.1      # share of ZIP+4 fields written without the hyphen


def amount_text(rng: np.random.Generator) -> str:
    """A check amount as a person writes it: optional $, thousands commas (mostly), cents."""
    dollars = int(10 ** rng.uniform(0, 6.3))
    cents = int(rng.integers(100))
    whole = f"{dollars:,}" if dollars >= 1000 and rng.random() < 0.8 else str(dollars)
    return ("$" if rng.random() < 0.5 else "") + f"{whole}.{cents:02d}"


def field_tokens(kind: str, rng: np.random.Generator) -> tuple[list[str], str]:
    """(characters to draw, the label the reader must return)."""
    if kind == "zip":
        text = "".join(str(d) for d in rng.integers(10, size=5))
        return list(text), text
    if kind == "zip+4":
        digits = "".join(str(d) for d in rng.integers(10, size=9))
        label = f"{digits[:5]}-{digits[5:]}"
        return list(digits if rng.random() < NO_HYPHEN else label), label
    text = amount_text(rng)
    return list(text), text


class DigitPool:
    """Source digits by label, drawn without replacement until a class runs out, then reused."""

    def __init__(self, digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
        self.digits, self.rng = digits, rng
        self.by_label = {d: list(rng.permutation(np.flatnonzero(labels == d))) for d in range(10)}
        self.used: dict[int, list[int]] = {d: [] for d in range(10)}

    def take(self, digit: int) -> np.ndarray:
        if not self.by_label[digit]:
            self.by_label[digit] = list(self.rng.permutation(self.used[digit]))
            self.used[digit] = []
        index = self.by_label[digit].pop()
        self.used[digit].append(index)
        return self.digits[index]


def render_field(chars: list[str], pool: DigitPool, rng: np.random.Generator,
                 form: str = "none", printed: str = "$") -> Image.Image:
    """The field written by hand, then scanned as it is (form "none") or on a printed form
    (forms.py; `printed` is the label a box may carry beside it)."""
    glyphs, gaps, height = write_field(chars, pool, rng)
    if form == "none":  # the scale is drawn after the writing: same numbers as before forms
        return scan(compose(glyphs, gaps, height), rng, float(rng.uniform(1.5, 3.5)))
    return fill_form(form, glyphs, gaps, height, rng, printed)


def write_field(chars: list[str], pool: DigitPool, rng: np.random.Generator
                ) -> tuple[list[tuple[np.ndarray, float]], list[float], int]:
    """(glyphs as (ink, top offset px), gaps px, line height px): the field before layout."""
    height = int(rng.integers(18, 31))
    glyphs: list[tuple[np.ndarray, float]] = []
    pens = []
    for char in chars:
        if char.isdigit():
            size = round(height * rng.uniform(0.85, 1.1))
            ink = digit_ink(pool.take(int(char)), size)
            if rng.random() < BROKEN:
                ink = break_stroke(ink, rng)
            pens.append(stroke_px(ink))
            top = (height - size) * rng.uniform(0, 1) + rng.normal(0, 0.04 * height)
            glyphs.append((ink, top))
        else:
            glyphs.append((np.zeros((1, 1), np.float32), 0.0))  # drawn below, once pens are known
    draw_marks(chars, glyphs, pens, height, rng)
    gaps = []
    for left, right in itertools.pairwise(chars):
        if left.isdigit() and right.isdigit():
            gap = (rng.uniform(-0.15, -0.03) if rng.random() < TOUCHING
                   else rng.uniform(0.02, 0.35))
        else:
            gap = rng.uniform(0.05, 0.3)
        gaps.append(gap * height)
    return glyphs, gaps, height


def draw_marks(chars: list[str], glyphs: list[tuple[np.ndarray, float]], pens: list[float],
               height: int, rng: np.random.Generator) -> None:
    """Draw the field's marks into `glyphs` in place, with a pen of about the digits' median
    stroke width (`pens`): known only once the digits are drawn."""
    pen = float(np.median(pens)) if pens else height / 8
    for index, char in enumerate(chars):
        if not char.isdigit():
            glyphs[index] = mark_ink(char, height, pen * rng.uniform(0.8, 1.3), rng)


def main() -> None:
    parser = argparse.ArgumentParser(description="Render labelled ZIP, ZIP+4 and amount fields.")
    add_source_options(parser, "sklearn", "37800-41999")
    parser.add_argument("--fields", type=int, default=600)
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated, from {', '.join(FORMATS)}; fields cycle through "
                        "them")
    parser.add_argument("--half", choices=("all", "even", "odd"), default="all",
                        help="use only the source digits at even or odd positions: two sets "
                        "that share no digit (calibrate on one, measure on the other)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--form", choices=FORMS, default="none",
                        help="none: the field alone (PNG); guide, box, comb: written on a printed "
                        "guide line, in an amount box, in comb boxes, on speckled paper, saved "
                        "as JPEG like a document scanner")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.formats.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(FORMATS))
    if unknown or not kinds:
        parser.error(f"--formats: unknown {unknown}; choose from {', '.join(FORMATS)}")
    digits, labels = load_source(args.source, args.rows, args.zip)
    if args.half != "all":
        digits, labels = digits[args.half == "odd"::2], labels[args.half == "odd"::2]
    rng = np.random.default_rng(args.seed)
    pool = DigitPool(digits, labels, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(args.fields):
        kind = kinds[index % len(kinds)]
        chars, label = field_tokens(kind, rng)
        if args.form == "none":
            name = f"{kind.replace('+', 'p')}{index:05d}.png"
            render_field(chars, pool, rng).save(args.out / name)
        else:
            name = f"{kind.replace('+', 'p')}{index:05d}.jpg"
            printed = "$" if kind == "amount" else "ZIP"
            image = render_field(chars, pool, rng, args.form, printed)
            image.save(args.out / name, quality=jpeg_quality(rng))
        rows.append((name, label, kind))
    write_labels(args.out, rows, header=("file", "label", "format"))
    form = "" if args.form == "none" else f" on {args.form} forms"
    print(f"{len(rows)} fields ({', '.join(kinds)}){form} -> {args.out}")


if __name__ == "__main__":
    main()
