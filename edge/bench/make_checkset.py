"""A realistic labelled check set: digits as a scanner sees them, not as MNIST stores them.

Each source digit is rendered dark on light paper at scan resolution (50-140 px tall), with
random margins, slant, small rotation, thicker or thinner strokes, paper shade, ink darkness,
blur and sensor noise, saved as PNG or JPEG, plus labels.csv (file,label).

    nice -n 15 .venv/bin/python -m edge.bench.make_checkset --rows 37800-38799 \
        --out build/edge/checkset
    nice -n 15 .venv/bin/python -m edge.bench.make_checkset --source sklearn --out build/edge/sk
    digit-edge bench build/edge/checkset --labels build/edge/checkset/labels.csv
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageFilter

from edge.bench.sources import add_source_options, ink_crop, load_source, write_labels


def render(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """One 28x28 white-on-black digit -> a grey 'scan' of it, dark ink on light paper."""
    crop = Image.fromarray(ink_crop(digit))
    height = int(rng.integers(50, 141))
    scale = height / crop.height
    image = crop.resize((max(1, round(crop.width * scale)), height), Image.BICUBIC)
    pad = height // 2  # room for slant and rotation
    canvas = Image.new("L", (image.width + 2 * pad, image.height + 2 * pad))
    canvas.paste(image, (pad, pad))
    shear = float(rng.uniform(-0.3, 0.3))
    canvas = canvas.transform(canvas.size, Image.AFFINE,
                              (1, shear, -shear * canvas.height / 2, 0, 1, 0), Image.BICUBIC)
    canvas = canvas.rotate(float(rng.uniform(-8, 8)), Image.BICUBIC)
    change = int(rng.integers(-2, 3))  # thinner (-) or thicker (+) pen, in scaled pixels steps
    size = 2 * round(abs(change) * scale / 3) + 1
    if change > 0 and size > 1:
        canvas = canvas.filter(ImageFilter.MaxFilter(size))
    elif change < 0 and size > 1:
        canvas = canvas.filter(ImageFilter.MinFilter(min(size, 5)))
    ink = np.asarray(canvas, dtype=np.float32) / 255.0
    rows = np.flatnonzero(ink.max(axis=1) > 0.1)
    cols = np.flatnonzero(ink.max(axis=0) > 0.1)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    margins = (rng.uniform(0.1, 0.8, size=4) * height).astype(int)
    ink = np.pad(ink, ((margins[0], margins[1]), (margins[2], margins[3])))
    paper = float(rng.uniform(0.75, 1.0))
    darkness = float(rng.uniform(0.5, 0.95))
    gray = paper - darkness * paper * ink
    image = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))
    gray = np.asarray(image, dtype=np.float32) / 255.0
    gray = gray + rng.normal(0, float(rng.uniform(0, 0.04)), gray.shape)
    return Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description="Render a realistic labelled check set.")
    add_source_options(parser, "kaggle", "37800-38799")
    parser.add_argument("--limit", type=int, default=None, help="at most this many digits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    digits, labels = load_source(args.source, args.rows, args.zip)
    if args.limit:
        digits, labels = digits[:args.limit], labels[:args.limit]
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (digit, label) in enumerate(zip(digits, labels, strict=True)):
        image = render(digit, rng)
        if rng.random() < 0.3:
            name = f"{index:05d}.jpg"
            image.save(args.out / name, quality=int(rng.integers(70, 96)))
        else:
            name = f"{index:05d}.png"
            image.save(args.out / name)
        rows.append((name, int(label)))
    write_labels(args.out, rows)
    print(f"{len(rows)} digits -> {args.out}")


if __name__ == "__main__":
    main()
