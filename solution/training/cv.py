"""5-fold cross-validated training of the ensemble, resumable member by member.

A run folder is keyed by the configuration and the data, so running the same command again (after
Ctrl-C, a crash, or a tuning trial that trained the same configuration) reuses every member that
finished. A member counts as finished once its `.json` (accuracy, history, seconds, seed,
config fingerprint) exists; it is written last, atomically, beside the network (`.keras`) and its
validation (and test) probabilities (`.npz`); `solution.runfolder` names the files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from solution.atomic import atomic_path, write_json
from solution.config import Config
from solution.data.competition import NUM_CLASSES, Competition
from solution.runfolder import MemberFiles, RunFolder
from solution.training.clock import RunClock, Work
from solution.training.fit import Log, fit_member, predict_probs, read_views
from solution.training.folds import N_FOLDS, stratified_folds
from solution.training.precision import current_precision, resolve_precision

FoldHook = Callable[[int, float, float], None]  # (fold, fold accuracy, running CV accuracy)
History = dict[str, list[float]]


@dataclass
class FirstRound:
    """A two-round member's first round, wherever it came from."""

    model: Any
    history: History  # empty when resumed from a network saved before histories were kept
    seconds: float  # its training time (0 when resumed from such a network)
    source: str  # "trained", "resumed" or the one-round run member it was taken from

    @property
    def from_other_run(self) -> bool:
        return self.source not in ("trained", "resumed")


@dataclass
class MemberResult:
    fold: int
    seed: int
    accuracy: float  # on the fold's validation rows
    seconds: float  # training time, 0 when reused
    history: dict[str, list[float]]
    reused: bool
    model_path: Path
    seconds_in_other_runs: float = 0.0  # of `seconds`: a first round a one-round run trained


@dataclass
class CVResult:
    oof_probs: np.ndarray  # (N, 10) float32; rows of folds not trained are NaN
    fold_accuracies: dict[int, float]  # ensemble of the fold's seeds on its validation rows
    members: list[MemberResult] = field(default_factory=list)
    test_probs: np.ndarray | None = None  # (M, 10) mean over all members, when predicted
    clock: RunClock | None = None  # the work the run planned and did, and its measured rates

    @property
    def covered(self) -> np.ndarray:
        return ~np.isnan(self.oof_probs[:, 0])

    def accuracy(self, labels: np.ndarray) -> float:
        """Accuracy of the out-of-fold predictions over the rows they cover."""
        covered = self.covered
        return float(np.mean(self.oof_probs[covered].argmax(1) == labels[covered]))


def data_fingerprint(comp: Competition) -> str:
    digest = hashlib.sha256()
    for array in (comp.train_images, comp.train_labels, comp.test_images):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:10]


def run_id(cfg: Config, comp: Competition) -> str:
    """Configuration and data; `-bf16` for members trained in bfloat16, so a run folder never
    mixes precisions."""
    suffix = "-bf16" if current_precision() == "bfloat16" else ""
    return f"{cfg.arch}-{cfg.fingerprint()}-data-{data_fingerprint(comp)}{suffix}"


SEEDS_PER_FOLD_LIMIT = 1000  # fold k's members are seeded base + k * 1000 + i: distinct for i < it


def member_seed(base_seed: int, fold: int, seed_index: int) -> int:
    """Every member of a run gets its own seed, the same on every rerun (so folds resume)."""
    return base_seed + SEEDS_PER_FOLD_LIMIT * fold + seed_index


def run_cv(cfg: Config, comp: Competition, run_dir: Path, *, folds: Sequence[int] | None = None,
           predict_test: bool = True, base_seed: int = 0, log: Log | None = None,
           on_fold_end: FoldHook | None = None,
           member_callbacks: Callable[[int, int], list[Any]] | None = None) -> CVResult:
    """Train (or reuse) every member of the chosen folds; OOF and test probabilities averaged.

    `on_fold_end` may raise (e.g. optuna.TrialPruned) to stop the run after any fold.
    """
    run = RunFolder(Path(run_dir))
    run.write_config(cfg.to_dict())
    run.members_dir.mkdir(parents=True, exist_ok=True)
    splits = stratified_folds(comp.train_labels)
    chosen = list(range(N_FOLDS)) if folds is None else sorted(set(folds))
    oof = np.full((len(comp.train_labels), NUM_CLASSES), np.nan, np.float32)
    test_sum = np.zeros((len(comp.test_images), NUM_CLASSES), np.float64)
    result = CVResult(oof, {})
    shared = one_round_run(cfg, comp, run)
    test_rows = len(comp.test_images)
    work = [_member_work(cfg, run, shared, f, s, len(splits[f][0]), len(splits[f][1]),
                         test_rows, predict_test)
            for f in chosen for s in range(cfg.seeds_per_fold)]
    to_train = sum(w.fits > 0 for w in work)
    clock = RunClock(sum(work, Work()) + sum(
        (fold_teacher_work(cfg, test_rows) for f in chosen if _needs_teacher(cfg, run, f)),
        Work()))
    result.clock = clock
    if log and to_train:
        log(work_line(to_train, clock.planned, current_precision()))
    for fold in chosen:
        train_index, val_index = splits[fold]
        val_sum = np.zeros((len(val_index), NUM_CLASSES), np.float64)
        fit = partial(fit_member, val_images=comp.train_images[val_index],
                      val_labels=comp.train_labels[val_index], clock=clock, log=log)
        read = partial(predict_probs, clock=clock)
        teacher, firsts = _fold_teacher(cfg, comp, run, shared, fold, train_index, base_seed,
                                        fit, read, log)
        for seed_index in range(cfg.seeds_per_fold):
            seed = member_seed(base_seed, fold, seed_index)
            member, val_probs, test_probs = _member(
                cfg, comp, run.member(fold, seed_index), fold, seed_index, seed, train_index,
                val_index, predict_test, log,
                partial(fit, label=f"fold {fold + 1}/{N_FOLDS} seed {seed_index + 1}/"
                        f"{cfg.seeds_per_fold}",
                        callbacks=member_callbacks(fold, seed_index) if member_callbacks else []),
                _shared_member(cfg, shared, fold, seed_index), teacher,
                firsts.get(seed_index), read)
            result.members.append(member)
            val_sum += val_probs
            if predict_test:
                test_sum += test_probs
        fold_probs = (val_sum / cfg.seeds_per_fold).astype(np.float32)
        oof[val_index] = fold_probs
        fold_acc = float(np.mean(fold_probs.argmax(1) == comp.train_labels[val_index]))
        result.fold_accuracies[fold] = fold_acc
        running = result.accuracy(comp.train_labels)
        if log:
            log(f"fold {fold + 1}/{N_FOLDS}: accuracy {fold_acc:.5f}, "
                f"running CV {running:.5f} over {int(result.covered.sum())} rows")
        if on_fold_end is not None:
            on_fold_end(fold, fold_acc, running)
    if predict_test:
        result.test_probs = (test_sum / len(result.members)).astype(np.float32)
    return result


def _done(files: MemberFiles, cfg: Config) -> bool:
    if not files.info.is_file():
        return False
    try:
        return json.loads(files.info.read_text()).get("config_fingerprint") == cfg.fingerprint()
    except (OSError, json.JSONDecodeError):
        return False


def _member(cfg: Config, comp: Competition, files: MemberFiles, fold: int, seed_index: int,
            seed: int, train_index: np.ndarray, val_index: np.ndarray, predict_test: bool,
            log: Log | None, fit: Callable[..., Any], shared: MemberFiles | None,
            teacher: np.ndarray | None, first: FirstRound | None,
            read: Callable[..., np.ndarray] = predict_probs,
            ) -> tuple[MemberResult, np.ndarray, np.ndarray | None]:
    model_path, probs_path, info_path = files.model, files.probs, files.info
    label = f"fold {fold + 1}/{N_FOLDS} seed {seed_index + 1}/{cfg.seeds_per_fold}"
    if _done(files, cfg):
        info = json.loads(info_path.read_text())
        stored = np.load(probs_path)
        test_probs = stored["test_probs"] if "test_probs" in stored.files else None
        if predict_test and test_probs is None:  # trained by a tuning trial that skipped test
            test_probs = _predict_saved(model_path, comp.test_images, cfg.tta)
            _save_probs(probs_path, val_index, stored["val_probs"], test_probs)
        if log:
            log(f"{label}: reusing finished member (val accuracy {info['accuracy']:.5f})")
        member = MemberResult(fold, seed, info["accuracy"], 0.0, info["history"], True, model_path)
        return member, stored["val_probs"], test_probs
    started = time.perf_counter()
    images, labels = comp.train_images[train_index], comp.train_labels[train_index]
    extra: dict[str, Any] = {}
    earlier_seconds = 0.0  # rounds trained before this member's clock started
    borrowed = 0.0  # of which a one-round run trained
    if cfg.second_round == "off":
        model, history = fit(cfg, images, labels, seed=seed)
    else:
        rounds = _resumed_rounds(files, log) or _rounds(
            cfg, comp, files, shared, first, seed_index, images, labels, val_index, seed, fit,
            teacher, read, log)
        model, history, earlier_seconds, borrowed = (rounds.model, rounds.history,
                                                     rounds.seconds, rounds.borrowed)
        extra.update(rounds.extra)
        started = time.perf_counter()
    before_clean = None
    if cfg.clean_epochs:
        before_clean = read(model, comp.train_images[val_index], cfg.tta)
        extra["before_clean_accuracy"] = float(
            np.mean(before_clean.argmax(1) == comp.train_labels[val_index]))
        model, clean_history = fit(clean_config(cfg), images, labels,
                                   seed=seed + CLEAN_SEED_OFFSET, model=model)
        history = joined_history(history, clean_history)
    seconds = time.perf_counter() - started + earlier_seconds  # all of the member's training
    val_probs = read(model, comp.train_images[val_index], cfg.tta)
    test_probs = read(model, comp.test_images, cfg.tta) if predict_test else None
    accuracy = float(np.mean(val_probs.argmax(1) == comp.train_labels[val_index]))
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    _save_probs(probs_path, val_index, val_probs, test_probs, before_clean)
    write_json(info_path, {"fold": fold, "seed": seed, "accuracy": accuracy, "seconds": seconds,
                           "config_fingerprint": cfg.fingerprint(), "history": history,
                           "precision": current_precision(), **extra})
    for path in (_rounds_marker(files), files.rounds_done):  # the marker first
        path.unlink(missing_ok=True)
    _remove_if_empty(files.rounds_done.parent)
    return MemberResult(fold, seed, accuracy, seconds, history, False, model_path,
                        borrowed), val_probs, \
        test_probs


def _remove_if_empty(folder: Path) -> None:
    """Leave no empty folder behind once the last member's saved rounds are gone (another
    member's saved rounds keep it: rmdir refuses a folder that is not empty)."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def work_line(members: int, work: Work, precision: str) -> str:
    """Said before the first epoch: how much there is to do, and in what precision (on a CPU
    without bfloat16 the run takes longer; the first epoch line's ETA says how long)."""
    line = (f"{members} member(s) to train: {work.train_rows:,} image passes in {precision}, "
            f"{work.read_rows:,} readings; every epoch line gives the ETA of the whole run")
    if precision == "float32" and resolve_precision("auto") == "float32":
        line += (" (this CPU reports neither amx_bf16 nor avx512_bf16: expect about 1.2x the "
                 "time of a CPU that has one)")
    return line


def member_work(cfg: Config, fold_rows: int, val_rows: int, test_rows: int, seed_index: int = 0,
                first_round: bool = True, predict_test: bool = True) -> Work:
    """One member's work, for the run's ETA: its fold's training rows each first-round (unless
    `first_round` is already trained) and clean epoch, those plus the test images each
    second-round epoch (if this seed index gets one); a validation pass each epoch; the readings
    of its validation (and test) images between and after its rounds; a fit per round."""
    views = read_views(cfg.tta)
    second = cfg.second_round_epochs if has_second_round(cfg, seed_index) else 0
    plain_epochs = cfg.epochs * first_round + cfg.clean_epochs
    reads = (val_rows + test_rows * predict_test) * views  # its final readings
    if second:
        reads += val_rows * views  # the first round's accuracy
        reads += test_rows * views if cfg.second_round_teacher == "member" else 0
    if cfg.clean_epochs:
        reads += val_rows * views  # the accuracy before them
    return Work(train_rows=plain_epochs * _whole_batches(fold_rows, cfg.batch_size)
                + second * _whole_batches(fold_rows + test_rows, cfg.batch_size),
                read_rows=reads + (plain_epochs + second) * val_rows,
                fits=int(first_round) + int(second > 0) + int(cfg.clean_epochs > 0),
                epochs=plain_epochs + second)


def fold_teacher_work(cfg: Config, test_rows: int) -> Work:
    """The fold teacher's readings of the test images: every first round, with TTA."""
    if cfg.second_round_teacher != "fold":  # as _fold_teacher decides
        return Work()
    return Work(read_rows=cfg.seeds_per_fold * test_rows * read_views(tta=True))


def _member_work(cfg: Config, run: RunFolder, shared: RunFolder | None, fold: int,
                 seed_index: int, fold_rows: int, val_rows: int, test_rows: int,
                 predict_test: bool) -> Work:
    """What one member still has to do: nothing when finished, no first round when one is
    stored (its own, or the matching one-round run's member)."""
    files = run.member(fold, seed_index)
    if _done(files, cfg):
        return Work()
    if _saved_rounds(files) is not None:  # only the clean epochs and the readings are left
        rounds_done = cfg.replace(second_round="off", second_round_epochs=0,
                                  second_round_teacher="member")
        return member_work(rounds_done, fold_rows, val_rows, test_rows, seed_index, False,
                           predict_test)
    first = cfg.second_round == "off" or not (
        files.first_round.is_file() or _shared_member(cfg, shared, fold, seed_index))
    return member_work(cfg, fold_rows, val_rows, test_rows, seed_index, first, predict_test)


def has_second_round(cfg: Config, seed_index: int) -> bool:
    """Whether the fold's member `seed_index` trains round two (`second_round_seeds`)."""
    return cfg.second_round != "off" and (
        cfg.second_round_seeds == 0 or seed_index < cfg.second_round_seeds)


def _whole_batches(rows: int, batch: int) -> int:
    """The rows an epoch goes through: fit_member runs rows // batch full batches."""
    return max(1, rows // batch) * batch


def second_round_config(cfg: Config) -> Config:
    """Round two goes on from round one's weights: a fresh cosine decay from half the rate."""
    return cfg.replace(epochs=cfg.second_round_epochs, schedule="cosine", warmup=0.0,
                       learning_rate=cfg.learning_rate / 2, second_round="off",
                       second_round_epochs=0, second_round_teacher="member",
                       second_round_seeds=0)


CLEAN_SEED_OFFSET = 700  # the clean epochs shuffle with the member's seed plus this


def clean_config(cfg: Config) -> Config:
    """The clean epochs go on from the last round's weights: the training rows without the warp,
    a fresh cosine decay from `clean_learning_rate` (low: the weights only settle)."""
    return cfg.replace(epochs=cfg.clean_epochs, schedule="cosine", warmup=0.0,
                       learning_rate=cfg.clean_learning_rate, rotation=0.0, zoom=0.0, shift=0.0,
                       elastic=0.0, second_round="off", second_round_epochs=0,
                       second_round_teacher="member", second_round_seeds=0, clean_epochs=0)


def second_round_targets(cfg: Config, train_labels: np.ndarray,
                         test_probs: np.ndarray) -> np.ndarray:
    """(train + test, 10) float targets: the true one-hot labels of the member's own training
    rows, then the first round's reading of every test image (argmax, or its probabilities)."""
    train_hot = np.eye(NUM_CLASSES, dtype=np.float32)[train_labels]
    if cfg.second_round == "pseudo":
        test_probs = np.eye(NUM_CLASSES, dtype=np.float32)[test_probs.argmax(1)]
    return np.concatenate([train_hot, test_probs.astype(np.float32)])


def one_round_config(cfg: Config) -> Config:
    """The configuration whose members are `cfg`'s first rounds: the same training without round
    two or clean epochs, and without TTA, which changes how a member reads, not what it learns."""
    return cfg.replace(second_round="off", second_round_epochs=0, second_round_teacher="member",
                       second_round_seeds=0, clean_epochs=0, tta=False)


def one_round_run(cfg: Config, comp: Competition, run: RunFolder) -> RunFolder | None:
    """The run beside `run` whose finished members are `cfg`'s first rounds (same seeds), so a
    two-round run never trains again what a one-round run (an options row, `make levers`'s
    source) already trained; None for a one-round configuration."""
    if cfg.second_round == "off":
        return None
    return run.sibling(run_id(one_round_config(cfg), comp))


def _shared_member(cfg: Config, shared: RunFolder | None, fold: int,
                   seed_index: int) -> MemberFiles | None:
    """The one-round run's finished member that is this member's first round, if there is one."""
    if shared is None:
        return None
    files = shared.member(fold, seed_index)
    return files if _done(files, one_round_config(cfg)) else None


def _first_round(cfg: Config, files: MemberFiles, shared: MemberFiles | None,
                 images: np.ndarray, labels: np.ndarray, seed: int, fit: Callable[..., Any],
                 log: Log | None) -> FirstRound:
    """The member's first round: the one it saved before an interruption, the matching
    one-round run's member, or trained now (and saved)."""
    from solution.models.layers import load_model

    if files.first_round.is_file():
        if log:
            log(f"{files.first_round.name}: reusing the finished first round")
        kept = _first_round_info(files)
        return FirstRound(load_model(files.first_round), kept.get("history", {}),
                          float(kept.get("seconds", 0.0)), "resumed")
    if shared is not None:
        info = json.loads(shared.info.read_text())
        source = f"{shared.model.parent.parent.name}/{shared.model.name}"
        if log:
            log(f"{files.first_round.name}: reusing the first round trained as {source}")
        return FirstRound(load_model(shared.model), info["history"],
                          float(info["seconds"]), source)
    started = time.perf_counter()
    model, history = fit(cfg, images, labels, seed=seed)
    seconds = time.perf_counter() - started
    files.first_round.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(files.first_round) as tmp:
        model.save(tmp)
    write_json(files.first_round.with_suffix(".json"), {"history": history, "seconds": seconds})
    return FirstRound(model, history, seconds, "trained")


@dataclass
class Rounds:
    """A two-round member's training before its clean epochs."""

    model: Any
    history: History
    extra: dict[str, Any]  # what the member's .json says of its rounds
    seconds: float  # their training time, the first round's included
    borrowed: float  # of which a one-round run trained


def _rounds(cfg: Config, comp: Competition, files: MemberFiles, shared: MemberFiles | None,
            first: FirstRound | None, seed_index: int, images: np.ndarray, labels: np.ndarray,
            val_index: np.ndarray, seed: int, fit: Callable[..., Any],
            teacher: np.ndarray | None, read: Callable[..., np.ndarray],
            log: Log | None) -> Rounds:
    """Round one (found or trained) and round two for the seeds that get it. A member with
    clean epochs to follow saves the result, so an interruption in them costs only them, not
    round two again (a quarter of the member's training in the default)."""
    first = first or _first_round(cfg, files, shared, images, labels, seed, fit, log)
    started = time.perf_counter()
    model, history = first.model, first.history
    extra: dict[str, Any] = {"first_round_seconds": first.seconds,
                             "first_round_from": first.source}
    second = has_second_round(cfg, seed_index)
    if second:
        model, history, more = _second_round(cfg, comp, model, history, images, labels,
                                             val_index, seed, fit, teacher, read)
        extra.update(more)
    rounds = Rounds(model, history, extra, first.seconds + time.perf_counter() - started,
                    first.seconds if first.from_other_run else 0.0)
    if second and cfg.clean_epochs:
        files.rounds_done.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(files.rounds_done) as tmp:
            model.save(tmp)
        write_json(_rounds_marker(files), {"history": history, "extra": extra,
                                           "seconds": rounds.seconds,
                                           "borrowed": rounds.borrowed})
    return rounds


def _rounds_marker(files: MemberFiles) -> Path:
    """Written after the saved network: the two exist together or the rounds count as not done."""
    return files.rounds_done.with_suffix(".json")


def _saved_rounds(files: MemberFiles) -> Rounds | None:
    """The member's rounds saved before an interruption in its clean epochs (network not loaded
    yet), or None. The one test of whether they count as done, so the plan, the fold teacher and
    the member never disagree (a member redoing round two without its teacher would teach
    itself)."""
    if not files.rounds_done.is_file():
        return None
    try:
        kept = json.loads(_rounds_marker(files).read_text())
        return Rounds(None, kept["history"], kept["extra"], float(kept["seconds"]),
                      float(kept["borrowed"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _resumed_rounds(files: MemberFiles, log: Log | None) -> Rounds | None:
    """The member's saved rounds with their network, if `_saved_rounds` finds them."""
    from solution.models.layers import load_model

    rounds = _saved_rounds(files)
    if rounds is None:
        return None
    if log:
        log(f"{files.rounds_done.name}: reusing the member's finished rounds; its clean epochs "
            "start again")
    rounds.model = load_model(files.rounds_done)
    return rounds


def _first_round_info(files: MemberFiles) -> dict[str, Any]:
    """A saved first round's history and seconds, so a resumed member still counts its whole
    training; {} for one saved before they were kept (or unreadable)."""
    try:
        return json.loads(files.first_round.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _fold_teacher(cfg: Config, comp: Competition, run: RunFolder, shared: RunFolder | None,
                  fold: int, train_index: np.ndarray, base_seed: int, fit: Callable[..., Any],
                  read: Callable[..., np.ndarray], log: Log | None,
                  ) -> tuple[np.ndarray | None, dict[int, FirstRound]]:
    """With `second_round_teacher` fold: the mean reading of the test images by every first
    round of the fold, trained (or found) before any second round, and those first rounds by
    seed index for the members that still need them; (None, {}) when the fold's members are all
    finished or each member teaches itself."""
    if not _needs_teacher(cfg, run, fold):
        return None, {}
    pending = _pending(cfg, run, fold)
    images, labels = comp.train_images[train_index], comp.train_labels[train_index]
    firsts = {seed_index: _first_round(
        cfg, run.member(fold, seed_index), _shared_member(cfg, shared, fold, seed_index),
        images, labels, member_seed(base_seed, fold, seed_index),
        partial(fit, label=f"fold {fold + 1}/{N_FOLDS} first round {seed_index + 1}/"
                f"{cfg.seeds_per_fold}"), log) for seed_index in range(cfg.seeds_per_fold)}
    teacher = fold_teacher_reading([first.model for first in firsts.values()],
                                   comp.test_images, read)
    return teacher, {s: first for s, first in firsts.items() if s in pending}


def _needs_teacher(cfg: Config, run: RunFolder, fold: int) -> bool:
    """Whether a member of the fold still has a round two to train from the fold teacher."""
    return cfg.second_round_teacher == "fold" and any(
        has_second_round(cfg, s) and _saved_rounds(run.member(fold, s)) is None
        for s in _pending(cfg, run, fold))


def _pending(cfg: Config, run: RunFolder, fold: int) -> list[int]:
    """The fold's seed indices still to finish."""
    return [s for s in range(cfg.seeds_per_fold) if not _done(run.member(fold, s), cfg)]


def fold_teacher_reading(first_rounds: Sequence[Any], test_images: np.ndarray,
                         read: Callable[..., np.ndarray] = predict_probs) -> np.ndarray:
    """The fold teacher's labels for the test images: the mean of the fold's first rounds'
    readings, each with TTA, which made two first rounds' average 0.022 pp better (issue 21's
    screen), whatever `tta` says of how the members read."""
    return np.mean([read(model, test_images, tta=True) for model in first_rounds], axis=0)


def second_round_fit(cfg: Config, fit: Callable[..., Any], model: Any, images: np.ndarray,
                     labels: np.ndarray, test_images: np.ndarray, teacher: np.ndarray,
                     seed: int) -> tuple[Any, History]:
    """Round two's training from round one's `model`: the member's training rows with their
    labels plus the test images with the teacher's, seeded apart from round one."""
    targets = second_round_targets(cfg, labels, teacher)
    return fit(second_round_config(cfg), np.concatenate([images, test_images]), targets,
               seed=seed + SEEDS_PER_FOLD_LIMIT // 2, model=model)


def _second_round(cfg: Config, comp: Competition, model: Any, first_history: History,
                  images: np.ndarray, labels: np.ndarray, val_index: np.ndarray, seed: int,
                  fit: Callable[..., Any], teacher: np.ndarray | None,
                  read: Callable[..., np.ndarray] = predict_probs,
                  ) -> tuple[Any, History, dict[str, Any]]:
    """Round two on the fold's training rows plus the test images as the teacher labelled them:
    the member's own first round, or (`teacher`) the mean of the fold's first rounds. Every
    teacher was trained on the fold's training rows only, so the OOF accuracy stays honest."""
    first_val = read(model, comp.train_images[val_index], cfg.tta)
    first_accuracy = float(np.mean(first_val.argmax(1) == comp.train_labels[val_index]))
    if teacher is None:
        teacher = read(model, comp.test_images, cfg.tta)
    model, second_history = second_round_fit(cfg, fit, model, images, labels, comp.test_images,
                                             teacher, seed)
    history = joined_history(first_history, second_history)
    return model, history, {"first_round_accuracy": first_accuracy}


def joined_history(history: History, later: History) -> History:
    """One history over a member's rounds (a resumed first round has none)."""
    return {key: history.get(key, []) + values for key, values in later.items()}


def _save_probs(path: Path, val_index: np.ndarray, val_probs: np.ndarray,
                test_probs: np.ndarray | None, before_clean: np.ndarray | None = None) -> None:
    """The member's probabilities; `before_clean`: its validation reading before the clean
    epochs, which the run's report compares with the final one."""
    arrays = {"val_index": val_index, "val_probs": val_probs}
    if test_probs is not None:
        arrays["test_probs"] = test_probs
    if before_clean is not None:
        arrays["val_probs_before_clean"] = before_clean
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        np.savez(stream, **arrays)


def _predict_saved(model_path: Path, images: np.ndarray, tta: bool) -> np.ndarray:
    from solution.models.layers import load_model

    return predict_probs(load_model(model_path), images, tta)
