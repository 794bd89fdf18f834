"""Write an interim model for digit_edge until `make export` ships the real CNN ensemble.

A small numpy-trained classifier (one hidden layer of 128 ReLUs, or plain multinomial logistic
regression with --hidden 0) on Kaggle's train.csv, written as ONNX with onnx.helper under the
edge model contract: input `image` float32 [N, 28, 28, 1] 0..1 -> output `probabilities` [N, 10].
The last --holdout rows are never trained on; they measure accuracy and pick min_confidence.
int8 is the same fp32 graph here (the manifest says so); the export writes a real int8 model.

    nice -n 15 .venv/bin/python -m edge.tools.make_interim_model \
        --data ../shared/data/digit-recognizer.zip --out edge/digit_edge/models
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import platform
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from solution.atomic import write_atomic, write_json

REPO = Path(__file__).resolve().parents[2]

MAX_REJECT = 0.02  # min_confidence: the highest threshold that routes at most 2% to a person


def load_train(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with zipfile.ZipFile(path) as archive, archive.open("train.csv") as stream:
        table = np.loadtxt(io.TextIOWrapper(stream), delimiter=",", skiprows=1, dtype=np.uint8)
    return table[:, 1:].astype(np.float32) / 255.0, table[:, 0].astype(np.int64)


def fit(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, seed: int) -> list[np.ndarray]:
    """Adam on softmax cross-entropy; returns [W1, b1, W2, b2] or [W, b] when hidden == 0."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], hidden, 10] if hidden else [x.shape[1], 10]
    params: list[np.ndarray] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params += [rng.normal(0, (2 / fan_in) ** 0.5, (fan_in, fan_out)).astype(np.float32),
                   np.zeros(fan_out, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step, lr, decay = 0, 1e-3, 1e-4
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 128):
            batch = order[start:start + 128]
            grads = _gradients(params, x[batch], y[batch], decay)
            step += 1
            for p, g, mi, vi in zip(params, grads, m, v, strict=True):
                mi[:] = 0.9 * mi + 0.1 * g
                vi[:] = 0.999 * vi + 0.001 * g * g
                p -= lr * (mi / (1 - 0.9 ** step)) / (np.sqrt(vi / (1 - 0.999 ** step)) + 1e-8)
        lr *= 0.7
    return params


def forward(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = np.maximum(h @ params[i] + params[i + 1], 0)
    logits = h @ params[-2] + params[-1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _gradients(params, x, y, decay):
    acts = [x]
    for i in range(0, len(params) - 2, 2):
        acts.append(np.maximum(acts[-1] @ params[i] + params[i + 1], 0))
    logits = acts[-1] @ params[-2] + params[-1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    delta = e / e.sum(axis=1, keepdims=True)
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)
    grads: list[np.ndarray] = [None] * len(params)
    for layer in range(len(params) // 2 - 1, -1, -1):
        grads[2 * layer] = acts[layer].T @ delta + decay * params[2 * layer]
        grads[2 * layer + 1] = delta.sum(axis=0)
        if layer:
            delta = (delta @ params[2 * layer].T) * (acts[layer] > 0)
    return grads


def to_onnx(params: list[np.ndarray]) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.array([-1, 784], np.int64), "flat_shape")]
    nodes = [helper.make_node("Reshape", ["image", "flat_shape"], ["x0"])]
    current = "x0"
    for i in range(0, len(params), 2):
        layer = i // 2
        inits += [numpy_helper.from_array(params[i], f"w{layer}"),
                  numpy_helper.from_array(params[i + 1], f"b{layer}")]
        nodes += [helper.make_node("MatMul", [current, f"w{layer}"], [f"m{layer}"]),
                  helper.make_node("Add", [f"m{layer}", f"b{layer}"], [f"z{layer}"])]
        current = f"z{layer}"
        if i + 2 < len(params):
            nodes.append(helper.make_node("Relu", [current], [f"h{layer}"]))
            current = f"h{layer}"
    nodes.append(helper.make_node("Softmax", [current], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes, "digits_interim",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="digit-edge interim")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def pick_min_confidence(probs: np.ndarray, labels: np.ndarray) -> float:
    confidence = probs.max(axis=1)
    return float(np.quantile(confidence, MAX_REJECT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=REPO.parent / "shared/data/digit-recognizer.zip")
    parser.add_argument("--out", type=Path, default=REPO / "edge/digit_edge/models")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--holdout", type=int, default=4200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    x, y = load_train(args.data)
    cut = len(x) - args.holdout
    params = fit(x[:cut], y[:cut], args.hidden, args.epochs, args.seed)
    probs = forward(params, x[cut:])
    accuracy = float((probs.argmax(axis=1) == y[cut:]).mean())
    min_confidence = round(pick_min_confidence(probs, y[cut:]), 4)
    blob = to_onnx(params).SerializeToString()
    variants = {}
    for variant in ("int8", "fp32"):
        name = f"digits-{variant}.onnx"
        write_atomic(args.out / name, lambda tmp, data=blob: tmp.write_bytes(data))
        variants[variant] = {"file": name, "sha256": hashlib.sha256(blob).hexdigest(),
                             "bytes": len(blob)}
    kind = f"MLP 784-{args.hidden}-10" if args.hidden else "multinomial logistic regression"
    manifest = {
        "name": "digits-interim", "version": "0.0.1", "interim": True,
        "description": (f"INTERIM placeholder until `make export`: a numpy-trained {kind} on "
                        f"train.csv rows 0..{cut - 1}; 'int8' is the same fp32 graph."),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]), "run_id": None, "default_variant": "int8",
        "variants": variants,
        "input": {"name": "image", "shape": ["N", 28, 28, 1], "dtype": "float32",
                  "range": [0.0, 1.0]},
        "output": {"name": "probabilities", "shape": ["N", 10]},
        "preprocessing": ("MNIST convention: white ink on black, float 0..1, digit fitted into "
                          "20x20 keeping aspect ratio, centred by mass in 28x28"),
        "min_confidence": min_confidence,
        "min_confidence_rule": f"confidence quantile rejecting {MAX_REJECT:.0%} of held-out rows",
        "members": 1, "macs": int(sum(p.size for p in params[::2])),
        "cv_accuracy": None, "holdout": {"rows": [cut, len(x) - 1], "accuracy": accuracy},
        "parity": None,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "onnx": onnx.__version__},
        "opset": 17,
    }
    write_json(args.out / "manifest.json", manifest)
    for path in args.out.iterdir():  # mkstemp makes 0600 files: a shared install must read them
        if path.name in ("manifest.json", "digits-int8.onnx", "digits-fp32.onnx"):
            path.chmod(0o644)
    print(f"held-out accuracy {accuracy:.4f}, min_confidence {min_confidence}, "
          f"{time.perf_counter() - started:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
