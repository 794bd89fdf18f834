"""`tune`: Optuna searches the CNN configuration under the same 5-fold CV that `submit` uses.

    python -m solution tune --profile quick --trials 12 --timeout 1h --workers 2
    python -m solution tune --storage postgresql://user@db/optuna      # every machine, same line

Each trial turns into a `Config` (`solution.tuning.search_space.suggest_config`), trains
through `solution.training.cv.run_cv` into runs/<run_id>/ (keyed by configuration and data, as
`submit` does, so `submit` reuses the best trial's fold models instead of retraining them) and
returns the mean out-of-fold accuracy over the folds it trained: the profile's `tune_folds`
(the first k of the shared 5), or `--folds`. After each fold it reports the running CV at
step = fold index, so steps never collide and every trial is compared on the same validation rows
at the same step.

Sampler: TPE, `multivariate=True` (the parameters interact: learning rate with decay and epochs,
width with dropout) and `constant_liar=True` (parallel workers do not all sample the same point),
both set explicitly because their defaults changed in Optuna 5, with a fixed seed, and
`group=True`: with several architectures (`--archs`) a trial has only the parameters its network
reads, and group decomposition samples each set of parameters that occur together (the training
fields; the CNN's width and depth; dropout) jointly, where plain multivariate TPE would sample
every parameter missing from some trial independently; with one architecture it is one group,
i.e. plain multivariate TPE. Only 5 random start-up trials, not 10: a study here has a dozen or
two trials, and trial 0 is the profile's default configuration (enqueued when the study is new),
which is already a good point.

Pruner: `MedianPruner(n_startup_trials=3)` on the running CV after each fold. Why, for a few
expensive trials with 2 (quick) to 5 steps each:
- Successive halving / Hyperband need rungs at min_resource * eta**k; with at most 5 steps there
  are one or two rungs, and each keeps only the top 1/eta, i.e. two thirds of the trials would be
  stopped after one fold on differences that are often within one fold's noise (about +-0.3% on
  the 1,680 validation rows of a quick fold).
- Wilcoxon tests the paired per-step differences to the best trial; with 2 folds its smallest
  possible p-value is 0.25 and with 5 folds 0.03, so it can hardly prune before the last fold,
  which saves nothing.
- The median rule works from the first fold, compares a trial with the others on the same rows,
  and stops only the trials below the median so far; it never prunes before the default trial and
  two others have finished, and never at a trial's last fold (that work is done anyway).
Per-epoch values of the first fold are not reported: `epochs` is tuned and the learning rate
decays per epoch, so at epoch 2 a 2-epoch schedule has finished while a 6-epoch one is still at a
high rate; comparing them there would prune long schedules for being long. At a fold boundary
every trial has run its whole schedule. `solution study` prints the fraction pruned and the
compute it saved.

Faults: Ctrl-C or SIGTERM ends the running trial as FAIL (Optuna does that for KeyboardInterrupt;
SIGTERM is turned into one), finished trials are in the storage already, and running `tune` again
continues the study. A worker killed outright leaves a RUNNING trial that the next start (or the
next trial of another worker) fails: `solution.tuning.studies.fail_stale_trials`.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from solution.config import Config
from solution.data.competition import Competition
from solution.profiles import Profile, get_profile
from solution.training.clock import clock_text
from solution.training.cv import data_fingerprint, run_cv, run_id
from solution.training.fit import Log
from solution.training.folds import N_FOLDS
from solution.tuning.search_space import default_params, suggest_config
from solution.tuning.studies import (
    StudyError,
    StudySpec,
    fail_stale_trials,
    finished,
    open_storage,
    worker_identity,
    write_best,
)

SAMPLER_SEED = 0  # fixed: the same study history and seed give the same suggestions
TPE_STARTUP_TRIALS = 5
PRUNER_STARTUP_TRIALS = 3
DEFAULT_TRIALS = 20
WORKERS_LIMIT = 1000  # worker seeds are this far apart: distinct while a study has fewer trials


@dataclass(frozen=True)
class TuneRequest:
    """Everything a worker process needs to join the study (picklable for `spawn`)."""

    spec: StudySpec
    profile: str
    data: str | None = None
    runs_dir: Path = Path("runs")
    trials: int = DEFAULT_TRIALS  # until the study has this many finished (complete + pruned)
    timeout: float | None = None  # seconds after which no new trial starts (per worker)
    workers: int = 1
    threads: int | None = None  # TensorFlow threads per worker; None = cores // workers
    folds: int | None = None  # folds per trial; None = the profile's tune_folds
    seed: int = SAMPLER_SEED
    archs: tuple[str, ...] = ("cnn",)  # architectures a trial may choose among
    precision: str = "float32"  # training precision, or auto (`solution.training.precision`)

    def tune_folds(self, profile: Profile) -> list[int]:
        count = self.folds if self.folds is not None else profile.tune_folds
        if not 1 <= count <= N_FOLDS:
            raise StudyError(f"--folds {count}: must be between 1 and {N_FOLDS}")
        return list(range(count))


@dataclass(frozen=True)
class TuneOutcome:
    finished: int  # complete + pruned trials in the study now
    complete: int
    pruned: int
    failed: int
    best: dict[str, Any] | None  # best.json's content


def parse_duration(text: str) -> float:
    """Seconds from '6h', '30m', '90s', '1h30m' or a plain number of seconds."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", value)
        if not value or parts is None:
            raise ValueError(f"--timeout {text!r}: expected a duration like 6h, 30m, 1h30m or 90s")
        days, hours, minutes, secs = (int(p or 0) for p in parts.groups())
        seconds = float(((days * 24 + hours) * 60 + minutes) * 60 + secs)
    if seconds <= 0:
        raise ValueError(f"--timeout {text!r}: must be longer than zero")
    return seconds


def make_sampler(seed: int) -> optuna.samplers.TPESampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True,
                                          constant_liar=True, n_startup_trials=TPE_STARTUP_TRIALS)


def worker_seed(seed: int, worker: int, trials_so_far: int) -> int:
    """Same study history + same seed = same suggestions; workers and restarts differ on purpose
    (each worker's seeds start WORKERS_LIMIT apart, and move on with the study's length)."""
    return seed + WORKERS_LIMIT * worker + trials_so_far


def make_pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=0)


def base_config(profile: Profile) -> Config:
    """The profile's default configuration: trial 0, and the base every trial starts from."""
    return profile.apply(Config())


def prepare_study(request: TuneRequest, comp: Competition, seed: int | None = None,
                  log: Log | None = None,
                  storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """Open (or create) the study and check it was made for this profile, data and folds.

    A new study gets its description as user attributes and the default configuration enqueued
    as trial 0. RUNNING trials of dead workers are failed here.
    """
    profile = get_profile(request.profile)
    folds = request.tune_folds(profile)
    storage = storage or open_storage(request.spec)
    # trials are logged by _after_trial; Optuna would add a traceback for every Ctrl-C
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        study_name=request.spec.name, storage=storage, direction="maximize",
        sampler=make_sampler(request.seed if seed is None else seed), pruner=make_pruner(),
        load_if_exists=True)
    wanted = {"profile": profile.name, "folds": folds,
              "data": {"fingerprint": data_fingerprint(comp),
                       "train_rows": len(comp.train_labels)},
              "archs": list(request.archs)}
    attrs = study.user_attrs
    if "profile" not in attrs:
        for key, value in {**wanted, "base_config": base_config(profile).to_dict()}.items():
            study.set_user_attr(key, value)
    else:
        _check_same(request.spec, {"archs": ["cnn"], **attrs}, wanted)
    stale = fail_stale_trials(study)
    if stale and log:
        log(f"marked trial(s) {', '.join(map(str, stale))} failed: their worker is gone")
    _ensure_default_trial(study, profile, request.archs)
    return study


def _ensure_default_trial(study: optuna.Study, profile: Profile,
                          archs: tuple[str, ...] = ("cnn",)) -> None:
    """Enqueue the default configuration when the study is new, or when its run failed.

    The default is the yardstick: with it finished, the study's best is never worse than it.
    A Ctrl-C during trial 0 would otherwise lose it for good.
    """
    alive = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    if any(t.user_attrs.get("is_default") for t in study.get_trials(False, states=alive)):
        return
    study.enqueue_trial(default_params(base_config(profile), archs),
                        user_attrs={"is_default": True})


def _check_same(spec: StudySpec, attrs: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Trials are only comparable when trained on the same data, profile and folds."""
    for key, what in (("profile", "profile"), ("folds", "folds"), ("data", "data"),
                      ("archs", "architectures")):
        if attrs.get(key) != wanted[key]:
            raise StudyError(
                f"study {spec.name!r} ({spec.describe()}) was made for {what} {attrs.get(key)}, "
                f"not {wanted[key]}; pass --study NAME to start another study")


def objective(trial: optuna.Trial, profile: Profile, comp: Competition, runs_dir: Path,
              folds: list[int], log: Log | None = None,
              archs: tuple[str, ...] = ("cnn",)) -> float:
    """Train the trial's configuration on `folds`; mean OOF accuracy over their rows."""
    trial.set_user_attr("worker", worker_identity())
    cfg = suggest_config(trial, profile, base_config(profile), archs)
    run_dir = Path(runs_dir) / run_id(cfg, comp)
    trial.set_user_attr("config", cfg.to_dict())
    trial.set_user_attr("run_id", run_dir.name)
    started = time.perf_counter()
    fold_accuracies: dict[str, float] = {}

    def on_fold_end(fold: int, accuracy: float, running: float) -> None:
        fold_accuracies[str(fold)] = accuracy
        trial.report(running, step=fold)
        trial.set_user_attr("fold_accuracies", dict(fold_accuracies))
        trial.set_user_attr("folds_done", len(fold_accuracies))
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 1))
        if len(fold_accuracies) < len(folds) and trial.should_prune():
            raise optuna.TrialPruned(f"running CV {running:.5f} after {len(fold_accuracies)} "
                                     f"of {len(folds)} folds is below the median")

    prefix = f"trial {trial.number}: "
    result = run_cv(cfg, comp, run_dir, folds=folds, predict_test=False, base_seed=0,
                    log=(lambda line: log(prefix + line)) if log else None,
                    on_fold_end=on_fold_end)
    return result.accuracy(comp.train_labels)


def run_worker(request: TuneRequest, index: int = 0, comp: Competition | None = None,
               log: Log | None = None) -> None:
    """One worker: join the study and run trials until it has `request.trials` finished ones."""
    from solution.training.fit import configure_tensorflow

    configure_tensorflow(request.threads or max(1, (os.cpu_count() or 1) // request.workers),
                         request.precision)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every trial builds new models: retracing notes are noise
    profile = get_profile(request.profile)
    if comp is None:
        from solution.data.competition import load_competition, subset

        comp = subset(load_competition(request.data), profile.max_train_rows)
    study = prepare_study(request, comp, log=log)
    study.sampler = make_sampler(worker_seed(request.seed, index, len(study.trials)))
    folds = request.tune_folds(profile)
    remaining = request.trials - len(finished(study))
    if remaining <= 0:
        return
    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    # stale trials are failed (in _after_trial) before MaxTrialsCallback counts RUNNING ones
    callbacks = [_after_trial(request.spec, log, request.trials, request.workers),
                 MaxTrialsCallback(request.trials, states=counted)]
    with _sigterm_as_interrupt():
        study.optimize(lambda trial: objective(trial, profile, comp, request.runs_dir, folds, log,
                                               request.archs),
                       n_trials=remaining, timeout=request.timeout, callbacks=callbacks,
                       gc_after_trial=True)


def _after_trial(spec: StudySpec, log: Log | None, target: int, workers: int
                 ) -> Callable[[optuna.Study, FrozenTrial], None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        write_best(study, spec)
        fail_stale_trials(study)
        if log is None:
            return
        seconds = trial.user_attrs.get("seconds", 0.0)
        if trial.state == TrialState.COMPLETE:
            best = study.best_trial
            log(f"trial {trial.number} complete: CV {trial.value:.5f} in {seconds:.0f}s "
                f"(best: trial {best.number}, CV {best.value:.5f})")
        elif trial.state == TrialState.PRUNED:
            log(f"trial {trial.number} pruned after {trial.user_attrs.get('folds_done', 0)} "
                f"fold(s), {seconds:.0f}s")
        else:
            log(f"trial {trial.number} {trial.state.name.lower()}")
        log(study_eta(finished(study), target, workers))

    return callback


def study_eta(done: list[FrozenTrial], target: int, workers: int) -> str:
    """How far the study is, and how long the rest should take at its trials' mean time so far.

    A trial's own epoch lines carry its ETA; this is the study's. The mean counts pruned trials,
    which stop early, as the rest of the study will also prune some; other workers' running
    trials are counted as still to do, each worker taking its share.
    """
    seconds = [t.user_attrs["seconds"] for t in done if "seconds" in t.user_attrs]
    left = target - len(done)
    line = f"{len(done)} of {target} trial(s) finished"
    if left <= 0 or not seconds:
        return line
    mean = sum(seconds) / len(seconds)
    rounds = -(-left // max(1, min(workers, left)))
    return (f"{line}; about {clock_text(mean * rounds)} to go at this study's "
            f"{mean:.0f} s per trial so far")


class _sigterm_as_interrupt:
    """SIGTERM raises KeyboardInterrupt once, so Optuna fails the running trial cleanly."""

    def __enter__(self) -> None:
        self.previous = None
        if hasattr(signal, "SIGTERM") and _main_thread():
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the trial be told FAIL
    raise KeyboardInterrupt


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def tune(request: TuneRequest, log: Log | None = None) -> TuneOutcome:
    """Run the study with `request.workers` processes; returns what the study holds afterwards."""
    from solution.data.competition import load_competition, subset

    profile = get_profile(request.profile)
    folds = request.tune_folds(profile)
    storage = open_storage(request.spec)  # a bad --storage fails before the data is read
    comp = subset(load_competition(request.data), profile.max_train_rows)
    study = prepare_study(request, comp, log=log, storage=storage)
    done = len(finished(study))
    if log:
        log(f"study {request.spec.name!r} on {request.spec.describe()}: profile {profile.name}, "
            f"{len(comp.train_labels)} training rows, tuning on {len(folds)} of {N_FOLDS} folds"
            + ("" if len(folds) == N_FOLDS else " (the CV score covers those folds' rows only)"))
        log(f"{done} finished trial(s); running until {request.trials}")
    remaining = request.trials - done
    if remaining > 0:
        workers = min(request.workers, remaining)
        if workers == 1:
            run_worker(request, 0, comp, log)
        else:
            _run_processes(request, workers)
    study = optuna.load_study(study_name=request.spec.name, storage=open_storage(request.spec))
    write_best(study, request.spec)
    return outcome(study, request.spec)


def outcome(study: optuna.Study, spec: StudySpec) -> TuneOutcome:
    from solution.tuning.studies import best_summary

    states = [t.state for t in study.get_trials(deepcopy=False)]
    complete, pruned = states.count(TrialState.COMPLETE), states.count(TrialState.PRUNED)
    return TuneOutcome(complete + pruned, complete, pruned, states.count(TrialState.FAIL),
                       best_summary(study, spec))


def _run_processes(request: TuneRequest, workers: int) -> None:
    """Start `workers` spawned processes; Ctrl-C/SIGTERM here is passed on to them as SIGTERM."""
    context = multiprocessing.get_context("spawn")  # no fork: TensorFlow is not fork-safe
    processes = [context.Process(target=_worker_main, args=(request, i), name=f"tune-worker-{i}")
                 for i in range(workers)]
    for process in processes:
        process.start()
    interrupted = False
    with _sigterm_as_interrupt():
        try:
            for process in processes:
                process.join()
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join()
        raise KeyboardInterrupt
    failed = [(p.name, p.exitcode) for p in processes if p.exitcode != 0]
    if failed:
        raise StudyError("worker(s) stopped with an error: "
                         + ", ".join(f"{name} exit code {code}" for name, code in failed))


def _worker_main(request: TuneRequest, index: int) -> None:
    """Entry point of a spawned worker: Ctrl-C reaches it through the parent (SIGTERM)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def log(line: str) -> None:
        print(f"[worker {index}] {line}", file=sys.stderr, flush=True)

    from solution.data.competition import DataError

    try:
        run_worker(request, index, log=log)
    except KeyboardInterrupt:
        log("interrupted; its running trial is marked failed")
        sys.exit(130)
    except (DataError, ValueError, OSError) as exc:
        log(f"error: {exc}")
        sys.exit(2)
