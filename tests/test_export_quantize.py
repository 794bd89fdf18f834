"""The int8 graph onnxruntime runs: every convolution in int8 but the one reading the image.

A ReLU left in float, or a tensor whose quantization disagreed with onnxruntime's conversion,
silently kept a convolution in float and put a dequantize-quantize pair between two int8 ones;
An et al.'s M5 ran 1.8x slower that way. Untrained networks suffice: the graph's form does not
depend on the weights.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from export.convert import keep_outputs, keras_to_onnx, optimize_offline, to_input
from export.quantize import image_convs, quantize
from solution.config import Config
from solution.models.zoo import create_model
from solution.profiles import get_profile
from tests.conftest import optimized_ops

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("arch", ["cnn", "m5", "lenet5"])
def test_every_conv_runs_in_int8_but_the_image_one(arch, tmp_path):
    cfg = get_profile("default").apply(Config()).replace(arch=arch)
    raw = keras_to_onnx([create_model(cfg)], tmp_path / "raw.onnx")
    fp32 = optimize_offline(keep_outputs(raw, tmp_path / "kept.onnx"), tmp_path / "fp32.onnx")
    images = (np.random.default_rng(0).random((32, 28, 28)) * 255).astype(np.uint8)
    int8 = quantize(fp32, tmp_path / "int8.onnx", to_input(images))
    convs = sum(node.op_type == "Conv" for node in onnx.load(str(fp32)).graph.node)
    assert len(image_convs(fp32)) == 1
    ops = optimized_ops(int8, tmp_path)
    assert ops.count("QLinearConv") == convs - 1
    assert ops.count("Conv") + ops.count("FusedConv") == 1
    assert "Relu" not in ops
    assert ops.count("DequantizeLinear") <= 2  # before the classifier (and its flatten), no more
