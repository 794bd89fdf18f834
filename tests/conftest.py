"""Shared fixtures: small competitions cut from the real Kaggle zip, never committed.

The real download lives in ../shared/data (DIGITS_ZIP overrides). Tests that need it are skipped
with a clear reason where it is absent; everything else builds its own data.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from export.parity import Thresholds
from export.settings import ExportSettings

REPO = Path(__file__).resolve().parents[1]
# `make export` of the tiny run below: one fine-tune epoch, one calibration method, and int8
# limits for barely trained members (their top probabilities nearly tie)
FAST = ExportSettings(finetune_epochs=1, calibration_methods=("MinMax",))
LOOSE_INT8 = Thresholds(int8_min_agreement=0.5, int8_max_drop_pp=25.0)
REAL_ZIP = Path(os.environ.get("DIGITS_ZIP", REPO.parent / "shared" / "data" /
                                "digit-recognizer.zip"))


def _read_member(name: str, nrows: int) -> pd.DataFrame:
    with zipfile.ZipFile(REAL_ZIP) as archive, archive.open(name) as stream:
        return pd.read_csv(stream, nrows=nrows)


def write_competition_zip(path: Path, train: pd.DataFrame, test: pd.DataFrame) -> Path:
    """A zip laid out like Kaggle's download, sample_submission.csv included."""
    sample = pd.DataFrame({"ImageId": range(1, len(test) + 1), "Label": 0})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in (("train.csv", train), ("test.csv", test),
                            ("sample_submission.csv", sample)):
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            archive.writestr(name, buffer.getvalue())
    return path


@pytest.fixture(scope="session")
def real_zip() -> Path:
    if not REAL_ZIP.is_file():
        pytest.skip(f"the Kaggle download is not at {REAL_ZIP} (set DIGITS_ZIP)")
    return REAL_ZIP


@pytest.fixture(scope="session")
def small_frames(real_zip) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first 400 train rows and 120 test rows of the real competition."""
    return _read_member("train.csv", 400), _read_member("test.csv", 120)


@pytest.fixture(scope="session")
def small_zip(tmp_path_factory, small_frames) -> Path:
    train, test = small_frames
    return write_competition_zip(tmp_path_factory.mktemp("small") / "digit-recognizer.zip",
                                 train, test)


@pytest.fixture(autouse=True)
def float32_between_tests():
    """A command run in-process (`submit --precision auto`) sets Keras' global dtype policy;
    every test starts from float32 again, whatever the CPU chose for the one before."""
    yield
    if "keras" in sys.modules:
        from solution.training.precision import use_precision

        use_precision("float32")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, small_zip) -> Path:
    """A finished smoke run: 5 fold models of width 8, one epoch each."""
    from solution.config import Config
    from solution.data.competition import load_competition
    from solution.profiles import get_profile
    from solution.submit import ResolvedConfig, submit

    root = tmp_path_factory.mktemp("export-run")
    profile = get_profile("smoke")
    cfg = profile.apply(Config()).replace(epochs=1)
    info = submit(load_competition(small_zip), profile, ResolvedConfig(cfg, "test"),
                  runs_dir=root / "runs", submission_path=root / "submission.csv")
    return root / "runs" / info["run_id"]


@pytest.fixture(scope="session")
def exported(tiny_run, tmp_path_factory):
    from export.pipeline import export_run
    from solution.training.precision import precision_in_force

    out = tmp_path_factory.mktemp("edge") / "models"
    # bfloat16 in force, as after an in-process `submit --precision auto` on a CPU that has it:
    # the export must still build, prune and convert float32 networks
    with precision_in_force("bfloat16"):
        result = export_run(tiny_run, out, settings=FAST, thresholds=LOOSE_INT8, command="test")
    return out, result


def optimized_ops(path: Path, work: Path) -> list[str]:
    """The op types of the graph onnxruntime runs at ORT_ENABLE_ALL, as the edge opens it."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(work / "optimized.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return [node.op_type for node in onnx.load(str(work / "optimized.onnx")).graph.node]
