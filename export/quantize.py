"""Static int8 quantization (QDQ, per-channel weights) of the fp32 ensemble graph.

Only the convolutions are quantized (and dense layers other than a member's classifier): the
members' logits, their Softmax and the averaging stay in float, because QDQ around the Softmax
caps probability parity at ~2e-3 and flips near-ties.

Each ReLU is quantized too, which lets the quantizer drop it: the convolution before it writes
its int8 output straight at the ReLU's range (zero point 0 of a u8 range, so clipping at zero is
the ReLU), and onnxruntime chains the convolutions as QLinearConv with nothing between them.
Left in float, every ReLU cost a DequantizeLinear/QuantizeLinear pair per convolution (a fifth of
the bundled ensemble's time). Activations are u8 because that is what onnxruntime's x86 kernels
take: S8 activations were converted at session start, and where the conversion missed a tensor
its convolution silently stayed in float. The convolution that reads the one-channel image stays
in float on purpose (`image_convs`). Measured on every architecture of the zoo: as fast or
faster at batch 256 and for one image (the README's export section).

Weights use 7 bits (`reduce_range`). On x86 CPUs without VNNI (this AVX2 machine) onnxruntime's
int8 convolution multiplies u8 activations by s8 weights with an instruction that saturates its
16-bit pair sums: with full-range weights a barely trained member agreed with its fp32 self on
only 65% of images (95% with reduce_range, same speed). U8 weights (U8U8) avoid it too but ran
slower here.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

from export.calibration import ImageReader

# never Softmax, Sum, Mul: the output stays float; Relu is quantized so that it can be dropped
QUANTIZED_OPS = ("Conv", "Gemm", "MatMul", "Relu")
METHODS = {"MinMax": CalibrationMethod.MinMax, "Entropy": CalibrationMethod.Entropy,
           "Percentile": CalibrationMethod.Percentile}


def quantize(fp32_path: Path, int8_path: Path, calibration: np.ndarray,
             method: str = "MinMax", float_image_convs: bool = True) -> Path:
    """Write the int8 QDQ twin of `fp32_path`, calibrated on `calibration` (N, 28, 28, 1)."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    excluded = classifier_nodes(fp32_path) + (image_convs(fp32_path) if float_image_convs else [])
    # the histogram calibrators print progress to stdout, which is the CLI's table
    with contextlib.redirect_stdout(io.StringIO()), _without_preprocessing_advice():
        quantize_static(
            str(fp32_path), str(int8_path), ImageReader(calibration),
            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANTIZED_OPS), nodes_to_exclude=excluded,
            calibrate_method=METHODS[method],
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    return int8_path


class _PreprocessingAdvice(logging.Filter):
    """onnxruntime's quantizer warns, twice per graph, to run its pre-processing (shape inference
    and an ONNX-level optimisation): the graph it gets was optimised by onnxruntime itself
    (`export.convert.optimize_offline`), so the advice is noise in every export's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()


@contextlib.contextmanager
def _without_preprocessing_advice() -> Iterator[None]:
    advice = _PreprocessingAdvice()
    logging.getLogger().addFilter(advice)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(advice)


def image_convs(path: Path) -> list[str]:
    """The convolutions that read the one-channel image itself (through layout-only nodes).

    Kept in float: onnxruntime's int8 convolution over a single input channel ran slower than
    the float one, most for one image and for a field's few glyphs.
    """
    import onnx

    graph = onnx.load(str(path)).graph
    inputs = {i.name for i in graph.input}
    producer = {out: node for node in graph.node for out in node.output}

    def reads_image(tensor: str) -> bool:
        while tensor in producer and producer[tensor].op_type in ("Reshape", "Transpose"):
            tensor = producer[tensor].input[0]
        return tensor in inputs

    return [node.name for node in graph.node
            if node.op_type == "Conv" and reads_image(node.input[0])]


def classifier_nodes(path: Path) -> list[str]:
    """The nodes computing each member's logits (Gemm, or MatMul + Add, feeding a Softmax).

    Kept in float: an int8 output there would quantize the logits and cap probability parity,
    and they cost next to nothing (head width x 10 MACs per member).
    """
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {out: node for node in graph.node for out in node.output}
    names: list[str] = []
    for node in graph.node:
        if node.op_type != "Softmax":
            continue
        current = producer.get(node.input[0])
        while current is not None and current.op_type in ("Gemm", "MatMul", "Add"):
            names.append(current.name)
            if current.op_type in ("Gemm", "MatMul"):
                break
            current = producer.get(current.input[0])
    return names
