"""`solution bench levers`: issue 21's late-stage levers trained on a real one-round run's
stored members, every stage cached, and refused on runs it cannot start from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from solution.cli import main
from solution.config import Config
from solution.profiles import get_profile


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def two_seed_run(tmp_path_factory, small_zip) -> Path:
    """A real smoke run, one round, two members per fold."""
    out = tmp_path_factory.mktemp("levers")
    config = out / "two.json"
    config.write_text(json.dumps(get_profile("smoke").apply(Config()).replace(
        seeds_per_fold=2, tta=False).to_dict()))
    result = _invoke("submit", "--data", str(small_zip), "--config", str(config),
                     "--runs-dir", str(out / "runs"), "--out", str(out / "submission.csv"),
                     "--studies-dir", str(out / "studies"))
    assert result.exit_code == 0, result.output
    return out / "runs" / (out / "runs" / "LATEST").read_text().strip()


@pytest.mark.slow
def test_the_screen_measures_each_lever_on_every_fold_and_resumes(two_seed_run, small_zip):
    table = two_seed_run.parent.parent / "levers.md"
    args = ("bench", "levers", "--run", str(two_seed_run), "--data", str(small_zip),
            "--precision", "float32", "--distil-epochs", "1", "--out", str(table))
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    lines = table.read_text().splitlines()
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:3]): line
            for line in lines[2:]}
    # the stored members as trained: 1 and 2 per fold, with and without TTA
    for members in ("1", "2"):
        for tta in ("no", "yes"):
            assert ("as trained", members, tta) in rows
            assert ("+ a clean epoch at lr 0.0001", members, tta) in rows
    student = "seed 0 distilled from the fold's first 2 member(s)"
    assert (student, "1", "no") in rows and (f"{student}, with seeds 1+ as trained", "2",
                                             "yes") in rows
    assert (f"{student}, with seeds 1+ as trained", "1", "no") not in rows  # the student row

    def seconds(lever: str, members: str) -> float:
        return float(rows[(lever, members, "no")].strip("|").split("|")[5])

    # a row's seconds are its averaged members' stages: two clean epochs cost more than one
    clean = "+ a clean epoch at lr 0.0001"
    assert seconds(clean, "2") > seconds(clean, "1") > 0 == seconds("as trained", "2")
    assert (f"{student}, + a clean epoch at lr 0.0001", "1", "no") in rows
    # the default with clean_epochs 1: both members' clean epochs are counted
    both_clean = f"{student}, + a clean epoch at lr 0.0001, with seeds 1+ as trained + the same"
    assert seconds(both_clean, "2") == pytest.approx(
        seconds(f"{student}, + a clean epoch at lr 0.0001", "1") + seconds(clean, "2")
        - seconds(clean, "1"), abs=2)
    # second_round_seeds = 0: both seeds distilled, a row for their average only, costing both
    both = "seeds 0-1 each distilled from the fold's first 2 member(s)"
    assert (both, "2", "no") in rows and (both, "1", "no") not in rows
    assert seconds(both, "2") > seconds(f"{student}, with seeds 1+ as trained", "2") > 0
    # seed 0's student again, saving the EMA of its weights: alone and beside seed 1
    ema = f"{student}, saving the EMA 0.999 of its weights"
    assert (ema, "1", "yes") in rows and (f"{ema}, with seeds 1+ as trained", "2", "no") in rows
    # the as-trained row without TTA is the run's own OOF of its first seeds
    info = json.loads((two_seed_run / "run.json").read_text())
    first = info["members_per_fold"][0]
    cells = rows[("as trained", "1", "no")].strip("|").split("|")
    assert float(cells[3]) == pytest.approx(first["accuracy"], abs=1e-5)
    assert int(cells[4]) == first["errors"]
    # every stage is cached: a second screen trains nothing and prints the same table
    cache = two_seed_run / "levers"
    stamps = {p: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    assert len(stamps) == 5 * (2 + 2 + 2 + 1 + 1)  # as trained, clean, students, clean, EMA
    again = _invoke(*args)
    assert again.exit_code == 0
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.npz")} == stamps
    assert table.read_text().splitlines() == lines
    # the student learned: its validation reading differs from seed 0's first round
    taught = np.load(cache / "fold0_student2_distil1.npz")["plain"]
    assert not np.allclose(taught, np.load(cache / "fold0_seed0_as_trained.npz")["plain"])
    # seed 1's student started from seed 1's first round, not seed 0's
    other = np.load(cache / "fold0_student2_distil1_seed1.npz")["plain"]
    assert not np.allclose(other, taught)


def test_the_screen_refuses_runs_it_cannot_start_from(two_seed_run, small_zip, tmp_path):
    result = _invoke("bench", "levers", "--run", str(two_seed_run), "--data", str(small_zip),
                     "--teacher-seeds", "3")
    assert result.exit_code == 2
    assert "--teacher-seeds 3" in result.output and "only 2 member(s) per fold" in result.output
    bad = _invoke("bench", "levers", "--run", str(two_seed_run), "--data", str(small_zip),
                  "--clean-lr", "fast")
    assert bad.exit_code == 2 and "learning rates > 0" in bad.output
    ema = _invoke("bench", "levers", "--run", str(two_seed_run), "--data", str(small_zip),
                  "--student-ema", "1")
    assert ema.exit_code == 2 and "--student-ema" in ema.output and "[0.9, 1)" in ema.output
    two_rounds = tmp_path / "run"
    two_rounds.mkdir()
    info = json.loads((two_seed_run / "run.json").read_text())
    info["config"] = Config(second_round="distil", second_round_epochs=2).to_dict()
    (two_rounds / "run.json").write_text(json.dumps(info))
    refused = _invoke("bench", "levers", "--run", str(two_rounds), "--data", str(small_zip))
    assert refused.exit_code == 2 and "needs a one-round run" in refused.output
