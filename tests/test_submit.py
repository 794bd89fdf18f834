"""`solution submit` end to end on a few hundred real rows, through the real code path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from solution.cli import main
from solution.config import Config
from solution.profiles import get_profile
from solution.submit import resolve_config

REPO = Path(__file__).resolve().parents[1]


def _submit(small_zip: Path, out: Path, *extra: str):
    args = ["submit", "--data", str(small_zip), "--profile", "smoke", "--runs-dir",
            str(out / "runs"), "--out", str(out / "submission.csv"),
            "--studies-dir", str(out / "studies"), *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, small_zip):
    out = tmp_path_factory.mktemp("submit")
    result = _submit(small_zip, out)
    assert result.exit_code == 0, result.output
    run_dir = out / "runs" / (out / "runs" / "LATEST").read_text().strip()
    return out, run_dir, result


def test_submission_is_valid_kaggle_format(smoke_run, small_frames):
    out, run_dir, _ = smoke_run
    frame = pd.read_csv(out / "submission.csv")
    assert list(frame.columns) == ["ImageId", "Label"]
    assert np.array_equal(frame["ImageId"], np.arange(1, len(small_frames[1]) + 1))
    assert frame["Label"].between(0, 9).all()
    assert (run_dir / "submission.csv").read_text() == (out / "submission.csv").read_text()


def test_run_folder_holds_models_probabilities_and_a_complete_run_json(smoke_run):
    _, run_dir, result = smoke_run
    info = json.loads((run_dir / "run.json").read_text())
    for key in ("config", "seeds", "fold_accuracies", "cv_accuracy", "timings", "versions",
                "data", "members", "profile", "oof_report"):
        assert key in info, key
    assert Config.from_dict(info["config"]).epochs == get_profile("smoke").overrides["epochs"]
    assert len(info["members"]) == 5 and len(info["fold_accuracies"]) == 5
    assert {"tensorflow", "keras", "numpy"} <= set(info["versions"])
    work = info["timings"]["work"]  # what the run did and how its first ETA held
    assert work["fits"] >= 5 and work["train_rows"] > 0 and work["read_rows"] > 0
    oof = np.load(run_dir / "oof_probs.npy")
    labels = np.load(run_dir / "train_labels.npy")
    assert oof.shape == (400, 10) and not np.isnan(oof).any()
    assert info["cv_accuracy"] == pytest.approx(np.mean(oof.argmax(1) == labels))
    assert np.load(run_dir / "test_probs.npy").shape == (120, 10)
    for member in info["members"]:
        assert (run_dir / member["model"]).is_file()
    for name in ("curves.png", "confusion_matrix.png", "metrics.json",
                 "classification_report.txt"):
        assert (run_dir / name).stat().st_size > 0
    assert "5-fold CV accuracy:" in result.output


def test_rerun_reuses_finished_folds_and_retrains_only_a_lost_one(smoke_run, small_zip):
    out, run_dir, _ = smoke_run
    members = run_dir / "members"
    kept = {p: p.stat().st_mtime_ns for p in members.glob("fold*_seed0.keras")}
    (members / "fold3_seed0.json").unlink()  # as if the run was killed while training fold 4
    result = _submit(small_zip, out)
    assert result.exit_code == 0, result.output
    info = json.loads((run_dir / "run.json").read_text())
    reused = {m["fold"]: m["reused"] for m in info["members"]}
    assert reused == {0: True, 1: True, 2: True, 3: False, 4: True}
    for path, mtime in kept.items():
        assert (path.stat().st_mtime_ns == mtime) == (path.name != "fold3_seed0.keras")


def test_tuned_best_json_is_used_when_present(tmp_path):
    profile = get_profile("smoke")
    assert resolve_config(profile, studies_dir=tmp_path).source == "default"
    tuned = profile.apply(Config()).replace(width=4, epochs=1)
    (tmp_path / profile.name).mkdir()
    (tmp_path / profile.name / "best.json").write_text(
        json.dumps({"profile": profile.name, "config": tuned.to_dict()}))
    assert resolve_config(profile, studies_dir=tmp_path).config == tuned


def test_bad_config_file_is_one_line_exit_2(tmp_path, small_zip):
    bad = tmp_path / "cfg.json"
    bad.write_text(json.dumps({"dropout": 2.0}))
    result = _submit(small_zip, tmp_path, "--config", str(bad))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {bad}: config field dropout=2.0: must be in [0, 1)"


def test_module_entry_point_reports_missing_data_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "solution", "submit", "--profile", "smoke"],
                          cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "kaggle competitions download -c digit-recognizer" in proc.stderr


def test_a_second_seed_per_fold_trains_only_the_new_members_and_says_what_they_bought(
        smoke_run, small_zip):
    """seeds_per_fold stays out of the fingerprint: the 2-seed run shares the 1-seed run's
    folder, reuses its members and reports the OOF of the first k seeds of each fold."""
    out, run_dir, _ = smoke_run
    config = out / "two-seeds.json"
    cfg = get_profile("smoke").apply(Config())
    config.write_text(json.dumps(cfg.replace(seeds_per_fold=2).to_dict()))
    kept = {p: p.stat().st_mtime_ns for p in (run_dir / "members").glob("fold*_seed0.keras")}
    result = _submit(small_zip, out, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert (out / "runs" / "LATEST").read_text().strip() == run_dir.name
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())
    info = json.loads((run_dir / "run.json").read_text())
    assert {(m["fold"], m["reused"]) for m in info["members"]} == \
        {(f, True) for f in range(5)} | {(f, False) for f in range(5)}
    labels = np.load(run_dir / "train_labels.npy")
    first_only = np.full((len(labels), 10), np.nan)
    for fold in range(5):
        stored = np.load(run_dir / "members" / f"fold{fold}_seed0.npz")
        first_only[stored["val_index"]] = stored["val_probs"]
    one, two = info["members_per_fold"]
    assert (one["members_per_fold"], two["members_per_fold"]) == (1, 2)
    assert one["accuracy"] == pytest.approx(np.mean(first_only.argmax(1) == labels))
    assert one["errors"] == int(np.sum(first_only.argmax(1) != labels))
    assert two["accuracy"] == pytest.approx(info["cv_accuracy"])
    assert two["train_seconds"] > one["train_seconds"] > 0
    assert "first 2 member(s) of each fold: OOF" in result.output
    assert "<h2>Members per fold</h2>" in (run_dir / "report.html").read_text()
