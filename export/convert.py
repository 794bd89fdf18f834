"""Keras members -> one ONNX graph for the ensemble, optimised offline by onnxruntime.

The graph computes every member's softmax and their mean in one `session.run`: input `image`
float32 [N, 28, 28, 1] in 0..1, output `probabilities` float32 [N, 10], dynamic batch `N`. Each
member's own softmax stays addressable inside the graph as tensor `member{k}`, so a member can be
cut out (`member_graph`) and judged on its own validation fold, in fp32 or int8 alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from solution.data.competition import NUM_CLASSES

if TYPE_CHECKING:
    import keras

INPUT = "image"
OUTPUT = "probabilities"
BATCH_DIM = "N"


def member_output(index: int) -> str:
    return f"member{index}"


def keras_to_onnx(models: Sequence[keras.Model], path: Path, opset: int = 17,
                  weights: Sequence[float] | None = None) -> Path:
    """Convert the members and their weighted mean to ONNX with tf2onnx; graph outputs: members
    + mean. `weights` (default: equal) are normalised to sum to 1."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name=INPUT),)
    shares = mean_weights(len(models), weights)

    @tf.function(input_signature=spec)
    def ensemble(image):
        probs = [model(image, training=False) for model in models]
        outputs = {member_output(k): p for k, p in enumerate(probs)}
        if len(set(shares)) == 1:  # one architecture: the plain mean, the graph as before
            outputs[OUTPUT] = tf.add_n(probs) / float(len(probs))
        else:
            outputs[OUTPUT] = tf.add_n([p * w for p, w in zip(probs, shares, strict=True)])
        return outputs

    proto, _ = tf2onnx.convert.from_function(ensemble, input_signature=spec, opset=opset)
    name_batch_dim(proto)
    import onnx

    onnx.save(proto, str(path))
    return path


def mean_weights(count: int, weights: Sequence[float] | None) -> list[float]:
    """`weights` normalised to sum to 1; equal shares when None."""
    if weights is None:
        return [1.0 / count] * count
    if len(weights) != count or min(weights) <= 0:
        raise ValueError(f"need {count} positive member weights, got {list(weights)}")
    total = float(sum(weights))
    return [float(w) / total for w in weights]


def name_batch_dim(proto) -> None:
    """tf2onnx names the batch dimension `unk__123`; the contract calls it N."""
    for value in [*proto.graph.input, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_DIM


def keep_outputs(src: Path, dst: Path, names: Sequence[str] = (OUTPUT,)) -> Path:
    """A copy of `src` whose graph outputs are only `names` (member tensors stay inside)."""
    import onnx

    proto = onnx.load(str(src))
    kept = [o for o in proto.graph.output if o.name in names]
    missing = set(names) - {o.name for o in kept}
    if missing:
        raise ValueError(f"{src}: no graph output(s) {sorted(missing)}")
    del proto.graph.output[:]
    proto.graph.output.extend(kept)
    onnx.save(proto, str(dst))
    return dst


def optimize_offline(src: Path, dst: Path) -> Path:
    """onnxruntime's offline graph optimisation at the BASIC level (constant folding, Conv+BN,
    Conv+Add and MatMul+Add fusions): standard ONNX ops only, so the file stays portable and can
    still be quantized. The hardware-specific fusions (EXTENDED/ALL) happen when a session opens.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
    return dst


def member_graph(src: Path, dst: Path, index: int) -> Path:
    """The subgraph of member `index`: `image` -> its softmax (fp32 or int8 alike)."""
    import onnx.utils

    onnx.utils.extract_model(str(src), str(dst), [INPUT], [member_output(index)])
    return dst


def session(path: Path, threads: int | None = None, level: str = "all"):
    """A CPU session; int8 QDQ graphs must run at ORT_ENABLE_ALL (slower than fp32 below it)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(sess, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Probabilities (N, 10) float32 for (N, 28, 28) uint8 or (N, 28, 28, 1) float images."""
    x = to_input(images)
    output = sess.get_outputs()[0].name
    parts = [sess.run([output], {INPUT: x[i:i + batch_size]})[0]
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, NUM_CLASSES), np.float32)


def to_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in 0..1, exactly as the training pipeline."""
    if images.dtype == np.uint8:
        return (images.astype(np.float32) / np.float32(255.0))[..., None]
    return images.astype(np.float32, copy=False)
