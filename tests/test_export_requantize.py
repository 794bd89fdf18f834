"""`make requantize` on a real tiny export, the int8 graph's shape in onnxruntime, and refusals.

The export (conftest's `exported`) is copied first, so every test starts from a published
package and the shared one stays as `make export` left it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from export.manifest import sha256
from export.pipeline import ExportRefused
from export.requantize import requantize_package
from solution.cli import main as solution_cli
from tests.conftest import FAST, optimized_ops

pytestmark = pytest.mark.slow


@pytest.fixture
def package(exported, tmp_path) -> Path:
    out, _ = exported
    return Path(shutil.copytree(out, tmp_path / "models"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_requantize_republishes_the_int8_graph_judged_out_of_fold(package, small_zip):
    from digit_edge import DigitReader

    before = json.loads((package / "manifest.json").read_text())
    fp32_bytes = (package / "digits-fp32.onnx").read_bytes()
    result = requantize_package(package, str(small_zip), FAST, command="test")
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["variants"]["int8"]["sha256"] == sha256(package / "digits-int8.onnx")
    assert (package / "digits-fp32.onnx").read_bytes() == fp32_bytes
    assert manifest["variants"]["fp32"] == before["variants"]["fp32"]
    assert manifest["members"] == before["members"]
    record = manifest["requantized"]
    assert (record["from_version"], record["from_int8_sha256"]) == (
        before["version"], before["variants"]["int8"]["sha256"])
    assert record["after"]["int8_oof"] == manifest["accuracy"]["int8_oof"]
    assert record["before"]["int8_oof"] == pytest.approx(before["accuracy"]["int8_oof"])
    assert all(figures["images_per_s"] > 0 and figures["single_ms"] > 0
               for figures in (record["before"], record["after"]))
    checks = {c["name"]: c for c in manifest["parity"]}
    assert {"fp32 vs Keras max abs(dp)", "pruned vs unpruned drop, pp (OOF)",
            "int8 vs fp32 ONNX argmax agreement (OOF)", "int8 accuracy drop, pp (OOF)",
            "int8 batch of 1 vs batch (max abs(dp))"} <= set(checks)
    assert "int8 vs Keras argmax agreement (OOF)" not in checks  # the old graph's, replaced
    assert all(c["passed"] for c in checks.values())
    assert manifest["calibration"]["method"] == "MinMax"
    assert not [p for p in package.parent.iterdir() if p.name.startswith(".")]  # no staging
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    assert DigitReader(package).classify(x).digits.shape == (3,)  # the edge loads it (sha checked)


def test_the_int8_graph_runs_every_conv_in_int8_but_the_one_reading_the_image(package, tmp_path):
    """What makes it fast: no float ReLU and no requantizing pair between two convolutions, and
    only the image's one-channel convolution (one per member) left in float."""
    ops = optimized_ops(package / "digits-int8.onnx", tmp_path)
    members = len(json.loads((package / "manifest.json").read_text())["members"])
    fp32_convs = sum(n.op_type == "Conv"
                     for n in onnx.load(str(package / "digits-fp32.onnx")).graph.node)
    assert "Relu" not in ops
    assert ops.count("QLinearConv") == fp32_convs - members
    assert ops.count("Conv") + ops.count("FusedConv") == members
    assert ops.count("QuantizeLinear") <= members  # one per member, after its image conv


def test_a_changed_fp32_graph_is_refused_and_nothing_is_touched(package, small_zip):
    with (package / "digits-fp32.onnx").open("ab") as stream:
        stream.write(b"\0")
    files = _snapshot(package)
    with pytest.raises(ExportRefused, match="sha256 differs"):
        requantize_package(package, str(small_zip), FAST)
    assert _snapshot(package) == files


def test_a_fold_split_that_does_not_match_the_members_is_refused(package, small_zip):
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["members"][0]["accuracy_after"] = 0.0  # member 0 now disagrees with its rebuilt fold
    (package / "manifest.json").write_text(json.dumps(manifest))
    files = _snapshot(package)
    with pytest.raises(ExportRefused, match="fold split does not match"):
        requantize_package(package, str(small_zip), FAST)
    assert _snapshot(package) == files


def test_cli_refuses_other_data_and_a_folder_without_manifest_in_one_line(package, tmp_path,
                                                                         small_frames):
    from tests.conftest import write_competition_zip

    train, test = small_frames
    other = write_competition_zip(tmp_path / "other.zip", train.iloc[:300], test)
    files = _snapshot(package)
    result = CliRunner().invoke(solution_cli, ["requantize", "--models", str(package),
                                               "--data", str(other)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "not the data the package's run" in line and "--data" in line
    assert _snapshot(package) == files
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(solution_cli, ["requantize", "--models", str(empty), "--data",
                                               str(other)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {empty / 'manifest.json'}: no manifest: not a published edge models folder"]


def test_a_missing_or_unreadable_int8_graph_is_refused_in_one_line(package, small_zip):
    (package / "digits-int8.onnx").write_bytes(b"not a graph")
    files = _snapshot(package)
    with pytest.raises(ExportRefused, match=r"^re-quantizing failed \(.*left as it was$"):
        requantize_package(package, str(small_zip), FAST)
    assert _snapshot(package) == files
    (package / "digits-int8.onnx").unlink()
    with pytest.raises(ExportRefused, match=r"digits-int8\.onnx: missing"):
        requantize_package(package, str(small_zip), FAST)
