"""Labelled 5-digit fields as a ZIP-code box is scanned: 16 px digits, 1-5 px gaps, scaled 4x.

Digits come from chosen train.csv rows (or scikit-learn's digits), are cropped to their ink,
scaled to 16 px height, set on a line with random 1-5 px gaps and a margin, then the whole field
is scaled up 4x (bicubic, as a 4x higher-resolution scanner would see it), dark on light, with
mild sensor noise. labels.csv holds file,label with the 5-digit text.

    nice -n 15 .venv/bin/python edge/bench/make_fields.py --rows 37800-41999 --out build/edge/fields
    digit-edge bench build/edge/fields --labels build/edge/fields/labels.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sources import DEFAULT_ZIP, ink_crop, load_source, write_labels

HEIGHT = 16   # digit height in the field before the 4x scan
SCALE = 4


def render_field(digits: list[np.ndarray], rng: np.random.Generator, gaps: tuple[int, int],
                 noise: float) -> Image.Image:
    pieces = []
    for digit in digits:
        crop = Image.fromarray(ink_crop(digit))
        width = max(1, round(crop.width * HEIGHT / crop.height))
        pieces.append(np.asarray(crop.resize((width, HEIGHT), Image.LANCZOS), np.float32) / 255)
    margin = 4
    gap_list = rng.integers(gaps[0], gaps[1] + 1, size=len(pieces) - 1)
    width = sum(p.shape[1] for p in pieces) + int(gap_list.sum()) + 2 * margin
    line = np.zeros((HEIGHT + 2 * margin, width), np.float32)
    x = margin
    for index, piece in enumerate(pieces):
        line[margin:margin + HEIGHT, x:x + piece.shape[1]] = piece
        x += piece.shape[1] + (int(gap_list[index]) if index < len(gap_list) else 0)
    paper = 1.0 - np.clip(line, 0, 1) * 0.9
    image = Image.fromarray((paper * 255).astype(np.uint8))
    image = image.resize((image.width * SCALE, image.height * SCALE), Image.BICUBIC)
    gray = np.asarray(image, np.float32) / 255 + rng.normal(0, noise, (image.height, image.width))
    return Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description="Render labelled 5-digit fields.")
    parser.add_argument("--source", choices=("kaggle", "sklearn"), default="kaggle")
    parser.add_argument("--rows", default="37800-41999")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fields", type=int, default=500)
    parser.add_argument("--length", type=int, default=5)
    parser.add_argument("--min-gap", type=int, default=1)
    parser.add_argument("--max-gap", type=int, default=5)
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    digits, labels = load_source(args.source, args.rows, args.zip)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(args.fields):
        pick = rng.choice(len(digits), size=args.length, replace=False)
        image = render_field([digits[i] for i in pick], rng, (args.min_gap, args.max_gap),
                             args.noise)
        name = f"field{index:05d}.png"
        image.save(args.out / name)
        rows.append((name, "".join(str(int(labels[i])) for i in pick)))
    write_labels(args.out, rows)
    print(f"{len(rows)} fields -> {args.out}")


if __name__ == "__main__":
    main()
