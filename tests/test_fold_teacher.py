"""Issue 21's fold teacher: round two taught by the mean of the fold's first rounds, some
members kept as first rounds, and first rounds taken from the matching one-round run instead of
trained again."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from solution.config import Config
from solution.data.competition import load_competition
from solution.profiles import get_profile
from solution.runfolder import RunFolder
from solution.submit import borrowed_seconds
from solution.training.cv import (
    has_second_round,
    member_work,
    one_round_config,
    run_cv,
    run_id,
)


def _student_config(seeds: int = 2, students: int = 1) -> Config:
    return get_profile("smoke").apply(Config()).replace(
        epochs=1, second_round="distil", second_round_epochs=1, second_round_teacher="fold",
        seeds_per_fold=seeds, second_round_seeds=students)


def _epoch_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if re.search(r"epoch +\d+/", line)]


@pytest.mark.parametrize("changes, message", [
    (dict(second_round_teacher="class"), "second_round_teacher="),
    (dict(second_round_teacher="fold"), "fold needs a second round"),
    (dict(second_round_seeds=-1), "second_round_seeds=")])
def test_bad_teacher_settings_are_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        Config(**changes)


def test_the_teacher_fields_change_the_run_folder_only_when_set():
    # the default before the fold teacher: its folder keeps its name
    cfg = get_profile("default").apply(Config()).replace(
        second_round_teacher="member", seeds_per_fold=1, second_round_seeds=0, clean_epochs=0,
        tta=True)
    assert cfg.fingerprint() == "29b910fe74"
    # each member teaches itself: more seeds per fold share the folder (and its members)
    assert cfg.replace(seeds_per_fold=3).fingerprint() == cfg.fingerprint()
    fold = cfg.replace(second_round_teacher="fold", seeds_per_fold=2)
    assert fold.fingerprint() != cfg.fingerprint()
    # the fold's first rounds teach: their count changes every student
    assert fold.replace(seeds_per_fold=3).fingerprint() != fold.fingerprint()
    assert fold.replace(second_round_seeds=1).fingerprint() != fold.fingerprint()


def test_first_rounds_are_the_one_round_configuration_without_tta_or_clean_epochs():
    cfg = _student_config().replace(clean_epochs=1, tta=True)
    first = one_round_config(cfg)
    assert (first.second_round, first.second_round_teacher, first.clean_epochs, first.tta) == (
        "off", "member", 0, False)
    assert (first.epochs, first.width, first.learning_rate) == (cfg.epochs, cfg.width,
                                                                cfg.learning_rate)


def test_only_the_first_seeds_get_a_second_round_and_their_rows():
    cfg = _student_config(seeds=3, students=1).replace(epochs=3, batch_size=100)
    assert [has_second_round(cfg, s) for s in range(3)] == [True, False, False]
    assert [has_second_round(cfg.replace(second_round_seeds=0), s) for s in range(3)] == [
        True, True, True]
    assert member_work(cfg, 800, 200, 500, 0).train_rows == 3 * 800 + 1 * 1300
    assert member_work(cfg, 800, 200, 500, 1).train_rows == 3 * 800
    assert member_work(cfg, 800, 200, 500, 0, first_round=False).train_rows == 1 * 1300


def test_a_fold_teacher_run_trains_every_first_round_then_one_student_and_resumes(
        small_zip, tmp_path):
    comp = load_competition(small_zip)
    cfg = _student_config()
    lines: list[str] = []
    result = run_cv(cfg, comp, tmp_path / "runs" / "run", folds=[0], log=lines.append)
    run = RunFolder(tmp_path / "runs" / "run")
    # two first rounds (the teacher), then one second round for seed 0 only
    trained = _epoch_lines(lines)
    assert len(trained) == 3
    assert sum("first round" in line for line in trained) == 2
    student = json.loads(run.member(0, 0).info.read_text())
    kept = json.loads(run.member(0, 1).info.read_text())
    assert len(student["history"]["loss"]) == 2 and len(kept["history"]["loss"]) == 1
    assert "first_round_accuracy" in student and "first_round_accuracy" not in kept
    assert student["first_round_from"] == kept["first_round_from"] == "trained"
    assert kept["seconds"] == pytest.approx(kept["first_round_seconds"], rel=0.5)
    assert result.test_probs is not None and len(result.members) == 2
    # interrupted in the student's round two: only that round is trained again
    run.member(0, 0).info.unlink()
    lines.clear()
    run_cv(cfg, comp, run.path, folds=[0], log=lines.append)
    assert len(_epoch_lines(lines)) == 1
    assert sum("reusing the finished first round" in line for line in lines) == 2
    # the resumed student still counts its first round's epochs and seconds
    resumed = json.loads(run.member(0, 0).info.read_text())
    assert resumed["first_round_from"] == "resumed"
    assert resumed["first_round_seconds"] == pytest.approx(student["first_round_seconds"])
    assert resumed["history"]["loss"][:1] == student["history"]["loss"][:1]
    assert len(resumed["history"]["loss"]) == 2


class _Interrupted(Exception):
    """Stands for Ctrl-C, raised from inside a real fit."""


class _InterruptFit:
    """A Keras callback that interrupts the member's `nth` fit as it begins."""

    def __init__(self, nth: int):
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                outer.fits += 1
                if outer.fits == nth:
                    raise _Interrupted

        self.fits, self.callback = 0, Callback()


def test_a_member_interrupted_in_its_clean_epochs_keeps_its_round_two(small_zip, tmp_path):
    comp = load_competition(small_zip)
    cfg = _student_config().replace(clean_epochs=1)
    interrupt = _InterruptFit(2)  # seed 0's fits in its member: round two, then the clean epoch
    with pytest.raises(_Interrupted):
        run_cv(cfg, comp, tmp_path / "run", folds=[0],
               member_callbacks=lambda fold, seed: [interrupt.callback] if seed == 0 else [])
    run = RunFolder(tmp_path / "run")
    files = run.member(0, 0)
    assert files.rounds_done.is_file() and not files.info.exists()
    lines: list[str] = []
    result = run_cv(cfg, comp, run.path, folds=[0], log=lines.append)
    # no first round, no round two and no teacher: seed 0's clean epoch, then seed 1's
    assert (result.clock.planned.epochs, result.clock.planned.fits) == (2, 2)
    trained = _epoch_lines(lines)
    assert len(trained) == 2 and not any("first round" in line for line in trained)
    assert sum("reusing the member's finished rounds" in line for line in lines) == 1
    student = json.loads(files.info.read_text())
    assert len(student["history"]["loss"]) == 3  # round one, round two, the clean epoch
    assert student["first_round_from"] == "trained" and "first_round_accuracy" in student
    assert student["seconds"] > student["first_round_seconds"] > 0
    assert not files.rounds_done.exists() and not files.rounds_done.with_suffix(".json").exists()
    assert not files.rounds_done.parent.exists()  # no empty folder left behind


def test_a_two_round_run_takes_its_first_rounds_from_the_one_round_run(small_zip, tmp_path):
    comp = load_competition(small_zip)
    cfg = _student_config()
    runs = tmp_path / "runs"
    one = one_round_config(cfg)
    first = run_cv(one, comp, runs / run_id(one, comp), folds=[0], predict_test=False)
    lines: list[str] = []
    result = run_cv(cfg, comp, runs / run_id(cfg, comp), folds=[0], log=lines.append)
    assert len(_epoch_lines(lines)) == 1  # the student's round two, nothing else
    assert lines[0].startswith("1 member(s) to train:")  # the up-front line knew it
    source = RunFolder(runs / run_id(one, comp))
    kept = RunFolder(runs / run_id(cfg, comp)).member(0, 1)
    info = json.loads(kept.info.read_text())
    assert info["first_round_from"] == f"{source.name}/fold0_seed1.keras"
    assert info["seconds"] == pytest.approx(first.members[1].seconds, abs=0.5)  # its cost
    # run.json says how much of the training seconds the one-round run spent
    assert borrowed_seconds(result) == pytest.approx(
        sum(m.seconds for m in first.members), abs=0.5)
    assert borrowed_seconds(first) == 0.0
    # seed 1 is that very network: it reads the validation rows as the one-round run did
    np.testing.assert_allclose(np.load(kept.probs)["val_probs"],
                               np.load(source.member(0, 1).probs)["val_probs"], atol=1e-5)
    student = json.loads(RunFolder(runs / run_id(cfg, comp)).member(0, 0).info.read_text())
    assert len(student["history"]["loss"]) == 2  # the shared first round's epoch, then its own
    assert result.members[0].seconds > first.members[0].seconds  # both rounds are its cost


def test_the_report_names_the_fold_teacher_and_the_members_kept_as_first_rounds():
    from solution.reporting.run_report import how_trained

    text = how_trained({"config": get_profile("default").apply(Config()).replace(
        second_round_teacher="fold", seeds_per_fold=2, second_round_seeds=1).to_dict()})
    assert "Of the 2 members per fold, the first 1 trained in two rounds" in text
    assert "from the mean of the fold's 2 first rounds (each reading with TTA)" in text
    assert "the others are their first rounds" in text
    own = how_trained({"config": get_profile("default").apply(Config()).replace(
        second_round_teacher="member", seeds_per_fold=1, second_round_seeds=0).to_dict()})
    assert "Each member trained in two rounds" in own and "that same member's first round" in own
