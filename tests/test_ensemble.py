"""`submit --models`: heterogeneous ensembles, each architecture in its own run folder."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from solution.cli import main
from solution.cli.common import NameList
from solution.config import ARCHS, Config
from solution.ensemble import config_for


def _submit(small_zip: Path, out: Path, *extra: str):
    args = ["submit", "--data", str(small_zip), "--profile", "smoke", "--runs-dir",
            str(out / "runs"), "--out", str(out / "submission.csv"),
            "--studies-dir", str(out / "studies"), *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.mark.slow
def test_two_architecture_ensemble_averages_its_runs(tmp_path, small_zip):
    result = _submit(small_zip, tmp_path, "--models", "cnn,lenet5")
    assert result.exit_code == 0, result.output
    runs = tmp_path / "runs"
    ens_dir = runs / (runs / "LATEST").read_text().strip()
    info = json.loads((ens_dir / "run.json").read_text())
    assert [a["arch"] for a in info["architectures"]] == ["cnn", "lenet5"]
    arch_dirs = [runs / a["run_id"] for a in info["architectures"]]
    for entry, arch_dir in zip(info["architectures"], arch_dirs, strict=True):
        arch_info = json.loads((arch_dir / "run.json").read_text())
        assert arch_info["config"]["arch"] == entry["arch"]
        assert entry["cv_accuracy"] == arch_info["cv_accuracy"]
    oof = np.mean([np.load(d / "oof_probs.npy") for d in arch_dirs], axis=0)
    assert np.allclose(np.load(ens_dir / "oof_probs.npy"), oof)
    labels = np.load(ens_dir / "train_labels.npy")
    assert info["cv_accuracy"] == pytest.approx(np.mean(oof.argmax(1) == labels))
    test = np.mean([np.load(d / "test_probs.npy") for d in arch_dirs], axis=0)
    submission = pd.read_csv(tmp_path / "submission.csv")
    assert np.array_equal(submission["Label"], test.argmax(1))
    assert len(info["members"]) == 10
    assert {m["arch"] for m in info["members"]} == {"cnn", "lenet5"}
    assert all((ens_dir / m["model"]).is_file() for m in info["members"])
    assert "lenet5: CV accuracy" in result.output
    from solution.reporting.run_report import member_histories
    from solution.runfolder import RunFolder

    # read from the architectures' run folders
    curves = [name for _, name in member_histories(RunFolder(ens_dir))]
    assert len(curves) == 10 and "lenet5 fold4_seed0" in curves
    assert "<h2>Model comparison</h2>" in (ens_dir / "report.html").read_text()

    # the CNN half is exactly the run a plain submit makes: nothing is trained again
    again = _submit(small_zip, tmp_path)
    assert again.exit_code == 0, again.output
    plain = json.loads((runs / (runs / "LATEST").read_text().strip() / "run.json").read_text())
    assert plain["run_id"] == info["architectures"][0]["run_id"]
    assert all(m["reused"] for m in plain["members"])


def test_bad_models_option_is_one_line_exit_2(tmp_path, small_zip):
    result = _submit(small_zip, tmp_path, "--models", "cnn,resnet")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: Invalid value for '--models': unknown name 'resnet' in 'cnn,resnet'; choose "
        "from default, cnn, m3, m5, m7, lenet5, mlp512, mlp1024")
    assert not (tmp_path / "runs").exists()


def test_models_parse_and_replace_only_the_arch():
    models = NameList(ARCHS, aliases={"default": "cnn"})
    assert models.convert(" cnn, m5 ", None, None) == ("cnn", "m5")
    assert models.convert("default,m5,m7", None, None) == ("cnn", "m5", "m7")  # the issue's
    for twice in ("m5,m5", "default,cnn"):
        with pytest.raises(click.BadParameter, match="names something twice"):
            models.convert(twice, None, None)
    pruned = Config(width=8, channels=(3, 5, 7, 9, 11, 13, 20), epochs=3)
    m5 = config_for(pruned, "m5")
    assert (m5.arch, m5.channels, m5.epochs) == ("m5", (), 3)
    assert config_for(m5, "cnn").channels == ()
    assert config_for(pruned, "cnn") is pruned
