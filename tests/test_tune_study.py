"""Real smoke studies on a journal file: end to end, pruning, continuing, workers, faults, submit.

Every `tune` here is the command a user types, in its own process; the studies are read back
through Optuna's own storage.
"""

from __future__ import annotations

import json
import re
import signal

import numpy as np
import optuna
import pytest
from click.testing import CliRunner
from optuna.storages.journal import JournalFileBackend, JournalStorage
from tune_support import (
    BAD,
    GOOD,
    SMOKE_BASE,
    run_cli,
    running_trial_of,
    start_cli,
    states,
    tune_args,
    wait_for,
)

from solution.cli import main
from solution.data.competition import load_competition, subset
from solution.profiles import get_profile
from solution.submit import resolve_config
from solution.tuning.search_space import config_from_params, default_params
from solution.tuning.studies import StudySpec
from solution.tuning.tune import TuneRequest, prepare_study

pytestmark = pytest.mark.slow


def _loader(studies, name="smoke"):
    path = studies / name / "journal.log"

    def load() -> optuna.Study:
        if not path.is_file():
            raise KeyError(name)
        return optuna.load_study(study_name=name,
                                 storage=JournalStorage(JournalFileBackend(str(path))))

    return load


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory, small_zip):
    """A 3-trial study on 2 folds by two worker processes sharing the journal file.

    Trial 0 is the defaults; two configurations that learn are queued behind it.
    """
    root = tmp_path_factory.mktemp("tune")
    studies, runs = root / "studies", root / "runs"
    comp = subset(load_competition(small_zip), get_profile("smoke").max_train_rows)
    study = prepare_study(TuneRequest(StudySpec("smoke", studies), "smoke", folds=2), comp)
    study.enqueue_trial(GOOD)
    study.enqueue_trial({**GOOD, "width": 10})
    result = run_cli(*tune_args(small_zip, studies, runs, "--folds", "2", "--trials", "3",
                                "--workers", "2"))
    assert result.returncode == 0, result.stdout + result.stderr
    load = _loader(studies)
    return {"root": root, "studies": studies, "runs": runs, "load": load, "first": result,
            "after_first": load().get_trials()}


def test_smoke_study_end_to_end(smoke_study):
    trials = smoke_study["after_first"]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert trials[0].user_attrs["is_default"] and trials[0].params == default_params(SMOKE_BASE)
    out = smoke_study["first"]
    assert "tuning on 2 of 5 folds (the CV score covers those folds' rows only)" in out.stderr
    # after each trial the study's own ETA, from the trials' measured time
    assert re.search(r"[12] of 3 trial\(s\) finished; about \d+:\d\d:\d\d to go at this study's "
                     r"\d+ s per trial so far", out.stderr)
    assert "3 of 3 trial(s) finished\n" in out.stderr
    assert "study smoke: 3 finished trials (3 complete, 0 pruned), 0 failed" in out.stdout
    # two processes, distinct trials, every result kept
    assert "[worker 0]" in out.stderr and "[worker 1]" in out.stderr
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2
    assert [t.number for t in trials] == [0, 1, 2] and all(t.value is not None for t in trials)
    for trial in trials:
        assert sorted(trial.intermediate_values) == [0, 1]  # one step per fold, no collision
        run_dir = smoke_study["runs"] / trial.user_attrs["run_id"]
        for fold in (0, 1):
            stored = np.load(run_dir / "members" / f"fold{fold}_seed0.npz")
            assert "test_probs" not in stored.files  # trials never predict test
        assert not (run_dir / "members" / "fold2_seed0.json").exists()
    # the configurations that learn beat the defaults, so the study's best is not trial 0
    assert max(t.value for t in trials[1:]) > trials[0].value
    best = json.loads((smoke_study["studies"] / "smoke" / "best.json").read_text())
    top = max(trials, key=lambda t: t.value)
    assert (best["trial"], best["cv_accuracy"], best["folds"]) == (top.number, top.value, [0, 1])
    assert best["profile"] == "smoke" and best["config"] == top.user_attrs["config"]
    assert best["default_trial"] == {"trial": 0, "cv_accuracy": trials[0].value}


@pytest.fixture(scope="module")
def continued_study(smoke_study, small_zip):
    """A second `tune` on the same study, with a deliberately bad configuration queued."""
    smoke_study["load"]().enqueue_trial(BAD)
    result = run_cli(*tune_args(small_zip, smoke_study["studies"], smoke_study["runs"],
                                "--folds", "2", "--trials", "4"))
    assert result.returncode == 0, result.stdout + result.stderr
    return {**smoke_study, "second": result}


def test_bad_configuration_is_pruned_and_a_second_tune_adds_to_the_study(continued_study):
    study = continued_study["load"]()
    trials = study.get_trials()
    assert states(study) == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    for before, now in zip(continued_study["after_first"], trials, strict=False):
        assert (before.number, before.value) == (now.number, now.value)  # nothing lost
    bad = trials[3]
    assert bad.params == BAD
    assert list(bad.intermediate_values) == [0]  # stopped after its first fold of two
    assert bad.user_attrs["folds_done"] == 1
    assert "3 finished trial(s); running until 4" in continued_study["second"].stderr
    assert "trial 3 pruned after 1 fold(s)" in continued_study["second"].stderr


def test_study_command_prints_table_and_writes_plots(continued_study):
    studies = continued_study["studies"]
    result = CliRunner().invoke(main, ["study", "--profile", "smoke", "--studies-dir",
                                       str(studies)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["#", "state", "cv", "folds", "sec"]
    assert lines[4].split()[1] == "pruned"
    assert "4 finished trials, 1 pruned (25%)" in result.output
    for name in ("history", "intermediate", "importances", "parallel"):
        png = studies / "smoke" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_best_json_round_trips_into_submit_which_reuses_the_trial(continued_study, small_zip):
    studies, runs = continued_study["studies"], continued_study["runs"]
    study = continued_study["load"]()
    resolved = resolve_config(get_profile("smoke"), studies_dir=studies)
    assert resolved.config == config_from_params(study.best_params, SMOKE_BASE)
    assert resolved.config.to_dict() == study.best_trial.user_attrs["config"]
    out = continued_study["root"] / "submission.csv"
    result = CliRunner().invoke(main, ["submit", "--data", str(small_zip), "--profile", "smoke",
                                       "--studies-dir", str(studies), "--runs-dir", str(runs),
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"tuned configuration from {studies}/smoke/best.json" in result.output
    run_dir = runs / study.best_trial.user_attrs["run_id"]
    info = json.loads((run_dir / "run.json").read_text())
    reused = {m["fold"]: m["reused"] for m in info["members"]}
    assert reused == {0: True, 1: True, 2: False, 3: False, 4: False}
    tuned_folds = study.best_trial.user_attrs["fold_accuracies"]
    assert {k: info["fold_accuracies"][k] for k in tuned_folds} == tuned_folds


def test_killed_and_interrupted_workers_leave_failed_trials_and_the_study_goes_on(tmp_path,
                                                                                  small_zip):
    studies, runs = tmp_path / "studies", tmp_path / "runs"
    load = _loader(studies)
    args = tune_args(small_zip, studies, runs, "--folds", "1", "--trials", "1")

    killed = start_cli(*args)
    wait_for(lambda: running_trial_of(load, killed.pid), what="a running trial to kill")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert states(load()) == ["RUNNING"]  # what a killed process leaves behind

    interrupted = start_cli(*args)  # starts by failing the dead worker's trial
    wait_for(lambda: running_trial_of(load, interrupted.pid), what="a running trial to stop")
    interrupted.send_signal(signal.SIGINT)  # what Ctrl-C sends
    output, _ = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 130, output
    assert output.strip().splitlines()[-1] == (
        "error: interrupted: the running trial is marked failed, finished trials are kept; "
        "run the same command to continue")
    study = load()
    assert states(study) == ["FAIL", "FAIL"]
    assert "is gone" in study.trials[0].user_attrs["failed_because"]

    result = run_cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    study = load()
    assert states(study) == ["FAIL", "FAIL", "COMPLETE"]
    assert study.trials[2].user_attrs["is_default"]  # the defaults are run again, not lost
    assert "study smoke: 1 finished trials (1 complete, 0 pruned), 2 failed" in result.stdout
