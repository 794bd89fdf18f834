"""Train the glyph model: is a normalised 28x28 glyph a digit, a mark (. , - $) or something else?

The digit ensemble answers "which digit" and is confident on anything it is shown, a hyphen or a
letter too. This small CNN answers "what kind of glyph": it lets the field reader keep marks as
marks and lets classify() reject what is no digit. Training data: train.csv digits (as stored,
and rendered as scans), pen-drawn marks, and junk (font letters, scribbles, blots, two touching
digits, a digit with a mark stuck to it). Every rendered glyph goes through digit_edge's own
normalisation, so the model sees exactly what the reader gives it.

Writes glyphs.onnx (input `image` [N, 28, 28, 1] 0..1, output `kinds` [N, 6]) and glyphs.json
(kinds, sha256, how it was made, held-out figures) into --out, atomically.

    .venv/bin/python -m edge.tools.make_glyph_model --data ../shared/data/digit-recognizer.zip \
        --out edge/digit_edge/models
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from digit_edge.glyphs import KINDS
from digit_edge.normalize import normalize
from edge.bench.pen import (
    break_stroke,
    compose,
    digit_ink,
    draw,
    font_letter,
    letter_strokes,
    mark_ink,
    scan,
    smudge,
)
from edge.bench.sources import DEFAULT_ZIP, kaggle_digits, sklearn_digits
from export.convert import name_batch_dim
from solution.atomic import write_atomic, write_json

SHARES = {"digit": 0.4, ".": 0.09, ",": 0.09, "-": 0.09, "$": 0.11, "other": 0.22}


def render_sample(kind: str, digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One (28, 28) float32 training glyph of `kind`, normalised as the reader would."""
    height = int(rng.integers(16, 44))
    pen = height * float(rng.uniform(0.08, 0.2))
    if kind == "digit":
        digit = digits[rng.integers(len(digits))]
        if rng.random() < 0.35:  # as stored: the MNIST-convention path of classify()
            return digit.astype(np.float32) / 255.0
        style = rng.random()
        if style < 0.4:  # a low-resolution scan (8-14 px tall, like 16x16 postal scans)
            small = digit_ink(digit, int(rng.integers(8, 15)))
            ink = np.asarray(Image.fromarray(small, "F").resize(
                (max(1, round(small.shape[1] * height / small.shape[0])), height),
                Image.BICUBIC), np.float32).clip(0, 1)
        else:
            ink = digit_ink(digit, height)
        if rng.random() < 0.25:  # a broad pen
            ink = np.asarray(Image.fromarray(ink, "F").filter(
                ImageFilter.MaxFilter(2 * int(rng.integers(1, 3)) + 1)), np.float32)
        if rng.random() < 0.1:
            ink = break_stroke(ink, rng)
    elif kind in (".", ",", "-", "$"):
        ink, _ = mark_ink(kind, height, pen, rng)
    else:
        ink = junk_ink(digits, height, pen, rng)
    image = scan(np.pad(ink, height // 3), rng, float(rng.uniform(1.0, 3.0)))
    return normalize(image)


def junk_ink(digits: np.ndarray, height: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """Anything that is neither a digit nor a mark."""
    pick = rng.random()
    if pick < 0.3:
        return font_letter(rng, height)
    if pick < 0.5:
        return draw(letter_strokes(rng), height, pen)
    if pick < 0.6:
        return smudge(rng, height)
    first = digit_ink(digits[rng.integers(len(digits))], height)
    if pick < 0.85:  # two neighbours merged: a wrong segmentation
        second = digit_ink(digits[rng.integers(len(digits))], height)
        return compose([(first, 0.0), (second, 0.0)], [height * rng.uniform(-0.2, 0.05)], height)
    mark, top = mark_ink(str(rng.choice([".", ","])), height, pen, rng)  # a digit with a mark
    return compose([(first, 0.0), (mark, top)], [height * rng.uniform(-0.1, 0.0)], height)


def make_set(count: int, digits: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(KINDS), size=count, p=[SHARES[k] for k in KINDS])
    images = np.stack([render_sample(KINDS[k], digits, rng) for k in kinds])
    return images[..., None].astype(np.float32), kinds.astype(np.int64)


def build(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(48, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(len(KINDS), activation="softmax"),
    ])


def to_onnx(model, path: Path) -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image"),)

    @tf.function(input_signature=spec)
    def glyphs(image):
        return {"kinds": model(image, training=False)}

    proto, _ = tf2onnx.convert.from_function(glyphs, input_signature=spec, opset=17)
    name_batch_dim(proto)
    onnx.save(proto, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description="Train and export the glyph-kind model.")
    parser.add_argument("--data", type=Path, default=DEFAULT_ZIP, help="the Kaggle zip")
    parser.add_argument("--rows", type=int, default=30000,
                        help="train.csv rows 0..N-1 give the digits; later rows measure it")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    digits, _ = kaggle_digits(args.data, list(range(args.rows)))
    x, y = make_set(args.samples, digits, args.seed)
    xv, yv = make_set(max(600, args.samples // 8), digits, args.seed + 1)
    print(f"rendered {len(x)} + {len(xv)} glyphs in {time.perf_counter() - started:.0f}s",
          flush=True)
    import keras

    model = build(args.seed)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=args.epochs, validation_data=(xv, yv), verbose=2,
              callbacks=[keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.3)])
    figures = measure(model, xv, yv, args.data, args.rows)
    print(json.dumps(figures, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "glyphs.onnx"
    write_atomic(target, lambda tmp: to_onnx(model, tmp))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    import tensorflow as tf

    write_json(args.out / "glyphs.json", {
        "file": target.name, "sha256": digest, "bytes": target.stat().st_size,
        "kinds": list(KINDS), "input": "image [N, 28, 28, 1] float32 0..1, MNIST convention",
        "output": "kinds [N, 6] float32 softmax over the kinds",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "seed": args.seed, "samples": args.samples,
        "epochs": args.epochs, "digits_from": f"train.csv rows 0-{args.rows - 1}",
        "held_out": figures, "seconds": round(time.perf_counter() - started, 1),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
    })
    print(f"wrote {target} and glyphs.json ({time.perf_counter() - started:.0f}s)")


def measure(model, xv: np.ndarray, yv: np.ndarray, data: Path, rows: int) -> dict:
    """Held-out figures: kind accuracy on rendered glyphs; how often real digits (train.csv rows
    never used here, and scikit-learn's digits) are not called digits."""
    predicted = model.predict(xv, verbose=0).argmax(axis=1)
    per_kind = {KINDS[k]: float((predicted[yv == k] == k).mean()) for k in range(len(KINDS))}
    kaggle, _ = kaggle_digits(data, list(range(rows, min(rows + 6000, 42000))))
    sk, _ = sklearn_digits()
    not_digit = {}
    for name, images in (("kaggle_rows_after_training", kaggle), ("sklearn_digits", sk)):
        probs = model.predict(images[..., None].astype(np.float32) / 255.0, verbose=0)
        not_digit[name] = {"count": len(images),
                           "digit_below_0.5": float((probs[:, 0] < 0.5).mean()),
                           "digit_below_0.05": float((probs[:, 0] < 0.05).mean())}
    return {"kind_accuracy": per_kind, "real_digits_not_called_digit": not_digit}


if __name__ == "__main__":
    main()
