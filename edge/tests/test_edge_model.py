"""The model contract: manifest, sha256 on load, clear errors for missing or tampered files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from digit_edge import DigitReader, ModelError, ModelIntegrityError, ModelNotFoundError
from digit_edge.model import BUNDLED, resolve, sha256

CONTRACT_KEYS = {"name", "version", "created", "command", "run_id", "default_variant", "variants",
                 "input", "output", "preprocessing", "min_confidence", "members", "macs",
                 "cv_accuracy", "parity", "versions", "opset"}


@pytest.fixture
def model_copy(tmp_path):
    target = tmp_path / "models"
    shutil.copytree(BUNDLED, target)
    return target


def test_bundled_manifest_follows_the_contract():
    manifest = json.loads((BUNDLED / "manifest.json").read_text())
    assert set(manifest) >= CONTRACT_KEYS
    assert manifest["default_variant"] == "int8" and {"int8", "fp32"} <= set(manifest["variants"])
    for entry in manifest["variants"].values():
        path = BUNDLED / entry["file"]
        assert sha256(path) == entry["sha256"] and path.stat().st_size == entry["bytes"]
    assert manifest["input"]["name"] == "image" and manifest["output"]["name"] == "probabilities"
    assert 0.0 <= manifest["min_confidence"] <= 1.0


@pytest.mark.parametrize("variant", [None, "int8", "fp32"])
def test_every_variant_loads_and_gives_probabilities(variant, train_digits):
    reader = DigitReader(variant, threads=1)
    probabilities = reader.predict(train_digits[0][:7] / np.float32(255))
    assert probabilities.shape == (7, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert reader.min_confidence == reader.spec.min_confidence


def test_a_model_folder_or_manifest_path_loads(model_copy):
    assert resolve(model_copy).variant == "int8"
    assert resolve(model_copy / "manifest.json").path == model_copy / "digits-int8.onnx"
    assert resolve(model_copy / "digits-fp32.onnx").variant == "fp32"


def test_tampered_model_is_refused(model_copy):
    path = model_copy / "digits-int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"sha256 .* does not match"):
        DigitReader(model_copy)
    with pytest.raises(ModelIntegrityError):
        DigitReader(path)  # the manifest beside it still applies


def test_missing_model_file_is_named(model_copy):
    (model_copy / "digits-int8.onnx").unlink()
    with pytest.raises(ModelNotFoundError, match=r"digits-int8\.onnx: missing"):
        DigitReader(model_copy)


def test_missing_path_and_missing_manifest(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such file"):
        DigitReader(tmp_path / "nothing.onnx")
    with pytest.raises(ModelNotFoundError, match="manifest"):
        DigitReader(tmp_path)


def test_broken_manifest_is_named(model_copy):
    (model_copy / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        DigitReader(model_copy)


def test_an_onnx_file_without_manifest_loads_unverified(tmp_path):
    shutil.copy(BUNDLED / "digits-fp32.onnx", tmp_path / "mine.onnx")
    reader = DigitReader(tmp_path / "mine.onnx")
    assert reader.spec.manifest == {} and reader.min_confidence == 0.0


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"definitely not protobuf")
    with pytest.raises(ModelError, match="cannot load"):
        DigitReader(tmp_path / "model.onnx")


def test_a_model_breaking_the_contract_is_refused(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["pixels"], ["out"])], "other",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 784])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 784])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "other.onnx")
    with pytest.raises(ModelError, match="expected one input `image`"):
        DigitReader(tmp_path / "other.onnx")


@pytest.mark.parametrize("kwargs", [{"threads": 0}, {"threads": 1.5}, {"min_confidence": 1.2},
                                    {"min_confidence": -0.1}])
def test_bad_reader_arguments(kwargs):
    with pytest.raises(ValueError):
        DigitReader(**kwargs)
