"""The run's ETA (solution.training.clock): training, reading and start-up priced apart, the
wall time the measured work does not explain charged in proportion, and a real run's plan
counting every pass it then makes."""

from __future__ import annotations

import re

import pytest

from solution.config import Config
from solution.data.competition import load_competition
from solution.profiles import get_profile
from solution.runfolder import RunFolder
from solution.training.clock import RunClock, Work, clock_text, steady_seconds
from solution.training.cv import fold_teacher_work, member_work, run_cv, work_line


def test_nothing_timed_yet_gives_no_eta():
    clock = RunClock(Work(train_rows=100))
    assert clock_text(clock.eta_seconds()) == "?"


def test_the_eta_prices_training_reading_and_start_up_apart():
    clock = RunClock(Work(train_rows=1000, read_rows=500, fits=2, epochs=10))
    # the first epoch: 100 rows trained at 0.1 s, 50 validated at 0.04 s, 3 s of start-up
    clock.epoch(10.0, 100, 2.0, 50, start_up=3.0)
    assert clock.done == Work(train_rows=100, read_rows=50, fits=1, epochs=1)
    just_measured = clock.started + 15.0  # the wall time so far is all measured work
    assert clock.eta_seconds(just_measured) == pytest.approx(900 * 0.1 + 450 * 0.04 + 3.0)
    # a reading outside training goes at its own rate: 100 rows at 0.02 s
    clock.read(2.0, 100)
    assert clock.eta_seconds(clock.started + 17.0) == pytest.approx(
        900 * 0.1 + 350 * 0.03 + 3.0)  # the median of the two reading rates


def test_wall_time_the_measured_work_does_not_explain_is_charged_in_proportion():
    clock = RunClock(Work(train_rows=200, fits=1))
    clock.epoch(10.0, 100, start_up=0.0)
    # 20 s have gone by for 10 s of measured work (saves, loads, Python between the steps)
    assert clock.eta_seconds(clock.started + 20.0) == pytest.approx(2 * 100 * 0.1)
    # never less than the work itself, whatever the wall clock says
    assert clock.eta_seconds(clock.started + 5.0) == pytest.approx(100 * 0.1)


def test_once_a_few_epochs_were_timed_the_eta_gives_the_range_of_their_pace():
    clock = RunClock(Work(train_rows=10_000))
    now = clock.started
    for seconds in (10.0, 20.0):  # 0.1 then 0.2 s a row
        clock.epoch(seconds, 100)
        now += seconds
    assert clock.eta_text(now) == clock_text(clock.eta_seconds(now))  # too few for a range
    clock.epoch(30.0, 100)  # the CPU slowed down: 0.3 s a row
    now += 30.0
    assert clock.eta_seconds(now) == pytest.approx(9700 * 0.2)  # the recent median
    low, high = (clock.eta_seconds(now, q) for q in (10, 90))
    assert low == pytest.approx(9700 * 0.12) and high == pytest.approx(9700 * 0.28)
    assert clock.eta_text(now) == (f"{clock_text(9700 * 0.2)} "
                                   f"({clock_text(low)}-{clock_text(high)})")


def test_work_left_never_goes_below_zero():
    assert Work(train_rows=5, read_rows=1) - Work(train_rows=7) == Work(read_rows=1)
    assert Work(1, 2, 3, 4) + Work(1, 1, 1, 1) == Work(2, 3, 4, 5)


def test_the_first_steps_tracing_is_left_out_of_the_pace():
    # 11 steps: the first took 5 s (tracing), the other 10 took 1 s each
    assert steady_seconds(15.0, 10.0, 11) == pytest.approx(11.0)
    assert steady_seconds(15.0, 15.0, 1) == 15.0  # one step: nothing to tell apart
    assert steady_seconds(15.0, 0.0, 11) == 15.0  # no step timed


def test_a_member_plans_its_rounds_readings_and_fits():
    cfg = Config(epochs=3, second_round="distil", second_round_epochs=2, batch_size=100)
    work = member_work(cfg, fold_rows=800, val_rows=200, test_rows=500)
    assert work.train_rows == 3 * 800 + 2 * 1300  # round two adds the test images
    # a validation pass each epoch; its own first round labels the test images; the first
    # round's accuracy; the final readings
    assert work.read_rows == 5 * 200 + 500 + 200 + (200 + 500)
    assert (work.fits, work.epochs) == (2, 5)
    plain = member_work(cfg.replace(second_round="off", tta=True), 800, 200, 500,
                        predict_test=False)
    assert (plain.train_rows, plain.read_rows, plain.fits) == (3 * 800, 3 * 200 + 5 * 200, 1)
    clean = member_work(cfg.replace(clean_epochs=1), 800, 200, 500, first_round=False)
    assert clean.train_rows == 1 * 800 + 2 * 1300 and clean.fits == 2
    fold = cfg.replace(second_round_teacher="fold", seeds_per_fold=2)
    assert fold_teacher_work(fold, 500) == Work(read_rows=2 * 500 * 5)
    assert fold_teacher_work(cfg, 500) == Work()


def test_the_run_says_up_front_how_much_it_trains_and_in_what_precision():
    from solution.training.precision import BF16_CPU_FLAGS, cpu_flags

    work = Work(train_rows=8_064_000, read_rows=1_900_000)
    line = work_line(10, work, "bfloat16")
    assert line.startswith("10 member(s) to train: 8,064,000 image passes in bfloat16, "
                           "1,900,000 readings")
    slow = work_line(10, work, "float32")
    has_bf16 = any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)  # read apart from the code
    assert ("neither amx_bf16 nor avx512_bf16" in slow) == (not has_bf16)


def test_a_real_run_does_exactly_the_work_it_planned(
        small_zip, tmp_path):
    """The default's shape in small: two first rounds teach one student, every member gets a
    clean epoch and reads with TTA; then a resume that only redoes the student."""
    comp = load_competition(small_zip)
    cfg = get_profile("smoke").apply(Config()).replace(
        epochs=2, second_round="distil", second_round_epochs=1, second_round_teacher="fold",
        seeds_per_fold=2, second_round_seeds=1, clean_epochs=1, tta=True)
    lines: list[str] = []
    result = run_cv(cfg, comp, tmp_path / "run", folds=[0], log=lines.append)
    clock = result.clock
    assert clock is not None and clock.done == clock.planned
    assert clock.planned.fits == 2 + 1 + 2 and clock.planned.epochs == 2 * 2 + 1 + 2
    summary = clock.summary()  # run.json's timings.work
    assert (summary["train_rows"], summary["fits"]) == (clock.planned.train_rows, 5)
    assert summary["seconds_per_1000_train_rows"] > 0 and summary["seconds_per_1000_read_rows"] > 0
    assert 0 <= summary["unmeasured_share"] < 1
    # the first epoch's ETA against what the rest of the run then took
    assert summary["first_eta_ratio"] == pytest.approx(
        summary["after_first_epoch_seconds"] / summary["first_eta_seconds"], rel=0.01)
    etas = [_seconds(line) for line in lines if re.search(r"ETA \d", line)]
    assert len(etas) == clock.planned.epochs  # every epoch line could tell, the first included
    assert etas[-1] <= etas[0]
    # interrupted in the student's rounds: its first round and the teacher's readings remain
    RunFolder(tmp_path / "run").member(0, 0).info.unlink()
    again = run_cv(cfg, comp, tmp_path / "run", folds=[0], log=lines.append)
    assert again.clock is not None and again.clock.done == again.clock.planned
    assert again.clock.planned.fits == 2  # the second round and the clean epoch


def _seconds(line: str) -> int:
    hours, minutes, seconds = map(int, re.search(r"ETA (\d+):(\d\d):(\d\d)", line).groups())
    return hours * 3600 + minutes * 60 + seconds
