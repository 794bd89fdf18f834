"""Train the field model: a small CNN that reads a whole field strip with CTC, deciding no cuts.

The segmenting reader (lattice.py) decides where glyphs are before reading them, and on real ink
that is where it fails: a broken 2 becomes 22, a box edge a 1. Published readers that recognise
the whole field (a CNN trained with CTC, no recurrent layers: Zhan, Lyu, Lu 2018) read 92-94% of
real check amounts. This one: 32-px strips (digit_edge/strip.py) -> convolutions that halve the
height to 1 and the width to a frame per 4 columns -> per-frame softmax over blank + "0-9.,-$".

Training fields are written from train.csv rows 0..rows-1 with what real scans do
(edge/tools/field_data.py); rows from `rows` on are held out for its own measurements.
Writes fields.onnx (input `strip` [N, 32, W, 1] float32 0..1, W a multiple of 4; output
`probabilities` [N, W/4, 15]) and fields.json (alphabet, sha256, how it was made, held-out
figures) into --out, atomically.

    .venv/bin/python -m edge.tools.make_field_model --data ../shared/data/digit-recognizer.zip \
        --out edge/digit_edge/models                                     (make field-model)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from digit_edge.ctc import ALPHABET, BLANK
from digit_edge.strip import FRAME, LINE_PX, STRIP_HEIGHT
from edge.bench.sources import DEFAULT_ZIP, kaggle_digits
from export.convert import name_batch_dim
from solution.atomic import write_atomic, write_json

CLASSES = len(ALPHABET) + 1   # the blank first
TRAIN_WIDTH = 352             # strips are padded to this many columns for training (88 frames)
CHUNK = 500                   # fields rendered per worker task


def render_chunk(args: tuple[Path, int, int, int, int]) -> tuple[np.ndarray, list[str]]:
    """(count, 32, TRAIN_WIDTH) uint8 strips and their texts: one worker's share."""
    from edge.tools.field_data import make_set

    data, first, last, count, seed = args
    digits, labels = kaggle_digits(data, list(range(first, last)))
    strips, texts = make_set(count, digits, labels, seed)
    kept = [(s, t) for s, t in zip(strips, texts, strict=True) if s.shape[1] <= TRAIN_WIDTH]
    batch = np.zeros((len(kept), STRIP_HEIGHT, TRAIN_WIDTH), np.uint8)
    for index, (strip, _) in enumerate(kept):
        batch[index, :, :strip.shape[1]] = np.round(strip * 255).astype(np.uint8)
    return batch, [t for _, t in kept]


def render(data: Path, rows: tuple[int, int], count: int, seed: int, workers: int
           ) -> tuple[np.ndarray, list[str]]:
    tasks = [(data, rows[0], rows[1], min(CHUNK, count - start), seed * 100_003 + start)
             for start in range(0, count, CHUNK)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(render_chunk, tasks))
    return np.concatenate([p[0] for p in parts]), [t for p in parts for t in p[1]]


def encode(texts: list[str]) -> np.ndarray:
    """(N, longest) int32 class indices, 0 (the blank) as padding."""
    out = np.zeros((len(texts), max(len(t) for t in texts)), np.int32)
    for row, text in enumerate(texts):
        out[row, :len(text)] = [ALPHABET.index(c) + 1 for c in text]
    return out


def build(seed: int, width: float = 1.0):
    """The field model: logits (N, W/4, CLASSES) for strips (N, 32, W, 1)."""
    import keras

    from solution.models.layers import FusedBatchNormalization  # trains in the fused kernel

    keras.utils.set_random_seed(seed)

    def channels(filters: int) -> int:
        return max(8, round(filters * width))

    def conv(x, filters):
        x = keras.layers.Conv2D(channels(filters), 3, padding="same", use_bias=False)(x)
        x = FusedBatchNormalization()(x)
        return keras.layers.ReLU()(x)

    strip = keras.Input((STRIP_HEIGHT, None, 1), name="strip")
    x = conv(strip, 16)
    x = keras.layers.MaxPooling2D((2, 2))(x)                 # 16 x W/2
    x = conv(x, 32)
    x = keras.layers.MaxPooling2D((2, 2))(x)                 # 8 x W/4: one column per frame
    x = conv(x, 48)
    x = conv(x, 48)
    x = keras.layers.MaxPooling2D((2, 1))(x)                 # 4 x W/4
    x = conv(x, 64)
    x = keras.layers.MaxPooling2D((2, 1))(x)                 # 2 x W/4
    x = keras.layers.Conv2D(channels(96), (2, 1), activation="relu")(x)  # 1 x W/4
    x = keras.layers.Reshape((-1, channels(96)))(x)
    x = keras.layers.Conv1D(channels(96), 3, padding="same", activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    logits = keras.layers.Dense(CLASSES, name="logits")(x)
    return keras.Model(strip, logits)


def ctc_loss(y_true, y_pred):
    from keras import ops

    y_true = ops.cast(y_true, "int32")
    label_length = ops.sum(ops.cast(y_true > 0, "int32"), axis=1)
    frames = ops.shape(y_pred)[1]
    logit_length = ops.ones_like(label_length) * frames
    return ops.ctc_loss(y_true, y_pred, label_length, logit_length, mask_index=BLANK)


def greedy(probabilities: np.ndarray) -> list[str]:
    """Best path per strip: argmax per frame, repeats merged, blanks dropped."""
    best = probabilities.argmax(axis=-1)
    texts = []
    for row in best:
        keep = np.concatenate([[True], row[1:] != row[:-1]]) & (row != BLANK)
        texts.append("".join(ALPHABET[i - 1] for i in row[keep]))
    return texts


def to_onnx(model, path: Path) -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, STRIP_HEIGHT, None, 1), tf.float32, name="strip"),)

    @tf.function(input_signature=spec)
    def fields(strip):
        return {"probabilities": tf.nn.softmax(model(strip, training=False), axis=-1)}

    proto, _ = tf2onnx.convert.from_function(fields, input_signature=spec, opset=17)
    name_batch_dim(proto)
    onnx.save(proto, str(path))


def train(args: argparse.Namespace) -> dict:
    """Render, fit, export; returns the fields.json entry (without file facts)."""
    import keras

    started = time.perf_counter()
    x, texts = render(args.data, (0, args.rows), args.samples, args.seed, args.workers)
    xv, texts_v = render(args.data, (args.rows, 42000), args.held_out, args.seed + 1,
                         args.workers)
    print(f"rendered {len(x)} + {len(xv)} fields in {time.perf_counter() - started:.0f}s",
          flush=True)
    y, yv = encode(texts), encode(texts_v)
    model = build(args.seed, args.width)
    steps = max(1, len(x) // args.batch) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=args.lr,
                                                      warmup_steps=max(1, steps // 20))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss)
    model.fit(_batches(x, y, args.batch, args.seed, as_float), epochs=args.epochs,
              steps_per_epoch=max(1, len(x) // args.batch), verbose=2,
              validation_data=(as_float(xv), yv))
    probabilities = keras.ops.convert_to_numpy(
        keras.ops.softmax(model.predict(as_float(xv), verbose=0), axis=-1))
    read = greedy(probabilities)
    right = float(np.mean([a == b for a, b in zip(read, texts_v, strict=True)]))
    print(f"held-out fields read entirely right (greedy, free): {right:.4f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "fields.onnx"
    write_atomic(target, lambda tmp: to_onnx(model, tmp))
    parity = _parity(target, as_float(xv[:64]), probabilities[:64])
    return {"held_out": {"fields": len(xv), "rows": f"train.csv rows {args.rows}-41999",
                         "entirely_right_greedy": right},
            "parity_max_abs": parity, "train_fields": len(x),
            "seconds": round(time.perf_counter() - started, 1)}


def as_float(strips: np.ndarray) -> np.ndarray:
    """(N, 32, W) uint8 strips as the model's (N, 32, W, 1) float32 0..1 input."""
    return strips[..., None].astype(np.float32) / 255.0


def _batches(x: np.ndarray, y: np.ndarray, batch: int, seed: int, as_float):
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(order) - batch + 1, batch):
            picked = order[start:start + batch]
            yield as_float(x[picked]), y[picked]


def _parity(path: Path, strips: np.ndarray, expected: np.ndarray) -> float:
    """Largest difference between onnxruntime's and Keras' probabilities on held-out strips."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"strip": strips})[0]
    difference = float(np.abs(got - expected).max())
    if difference > 1e-3:
        raise SystemExit(f"fields.onnx differs from the Keras model by {difference:.2g}: "
                         "not written")
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and export the field model (CTC).")
    parser.add_argument("--data", type=Path, default=DEFAULT_ZIP, help="the Kaggle zip")
    parser.add_argument("--rows", type=int, default=37800,
                        help="train.csv rows 0..N-1 write the training fields; later rows the "
                        "held-out ones")
    parser.add_argument("--samples", type=int, default=40000)
    parser.add_argument("--held-out", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering fields")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (the Kaggle digit-recognizer zip)")
    entry = train(args)
    target = args.out / "fields.onnx"
    import keras
    import tensorflow as tf

    write_json(args.out / "fields.json", {
        "file": target.name, "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "bytes": target.stat().st_size, "alphabet": ALPHABET, "blank": BLANK,
        "strip_height": STRIP_HEIGHT, "line_px": LINE_PX, "frame": FRAME,
        "input": "strip [N, 32, W, 1] float32 0..1 white on black, W a multiple of 4",
        "output": "probabilities [N, W/4, 15] float32: softmax over blank + alphabet per frame",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "seed": args.seed, "samples": args.samples,
        "epochs": args.epochs, "width": args.width, "fields_from": f"train.csv rows 0-"
        f"{args.rows - 1}", **entry,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
    })
    print(f"wrote {target} and fields.json", flush=True)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
