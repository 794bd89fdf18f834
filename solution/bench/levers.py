"""Issue 21's late-stage levers screened on all 5 folds from a finished one-round run's members.

A member's first round is most of its training. A one-round run (`second_round` off) with
several seeds per fold holds those first rounds, trained with the seeds the default's first rounds
use, so the levers that act after the first round can be measured on every fold by training only
that stage: a last clean epoch (`Config.clean_epochs`) and a second round distilled from the
fold's first T members instead of from the member alone (the edge student: one network per
fold, as fast as today's edge member, taught by a better teacher), for seed 0 only (the default)
or for every one of the T seeds (`second_round_seeds = 0`). A lever costs minutes here where
a 5-fold run costs over an hour. Every stage's result is kept under the run's `levers/` folder, so
an interrupted screen resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from solution.atomic import atomic_path
from solution.config import Config
from solution.data.competition import Competition
from solution.errors import UserError
from solution.reporting.tables import Column, Table
from solution.runfolder import RunFolder
from solution.training.cv import (
    CLEAN_SEED_OFFSET,
    clean_config,
    data_fingerprint,
    fold_teacher_reading,
    member_seed,
    second_round_fit,
)
from solution.training.fit import Log, fit_member, predict_probs
from solution.training.folds import N_FOLDS, stratified_folds


@dataclass(frozen=True)
class ScreenRow:
    lever: str
    members_per_fold: int
    tta: bool
    accuracy: float
    errors: int
    seconds: float  # the averaged members' stage of this lever took, over all folds (0: none)


@dataclass(frozen=True)
class Screen:
    """What to screen: clean epochs at these rates; students taught by the first T seeds."""

    clean_rates: tuple[float, ...] = (1e-4,)
    teacher_seeds: int = 2
    distil_epochs: int = 8  # the default profile's second round; part of the cache's names
    student_ema: float = 0.999  # seed 0's student again, saving this EMA of its weights (0: not)
    base_seed: int = 0


def screen_levers(run: RunFolder, comp: Competition, screen: Screen,
                  log: Log | None = None) -> list[ScreenRow]:
    cfg = _one_round_config(run, comp, screen)
    labels = comp.train_labels
    splits = stratified_folds(labels)
    # (lever, tta) -> per fold, per member: validation probabilities; and seconds per lever
    found: dict[tuple[str, bool], list[list[np.ndarray]]] = {}
    seconds: dict[str, np.ndarray] = {}  # per member index, summed over the folds
    first_k: dict[str, int] = {}  # the fewest members per fold a lever's rows start from
    for fold in range(N_FOLDS):
        for lever, members, spent, fewest in _fold_levers(run, cfg, comp, screen, fold,
                                                          splits[fold], log):
            seconds[lever] = seconds.get(lever, 0.0) + np.asarray(spent, float)
            first_k[lever] = fewest
            for tta, probs in members.items():
                found.setdefault((lever, tta), [[] for _ in range(N_FOLDS)])[fold] = probs
    rows = []
    for (lever, tta), per_fold in found.items():
        for k in range(first_k[lever], min(len(m) for m in per_fold) + 1):
            right = np.concatenate([
                np.mean(members[:k], axis=0).argmax(1) == labels[splits[fold][1]]
                for fold, members in enumerate(per_fold)])
            rows.append(ScreenRow(lever, k, tta, float(right.mean()), int((~right).sum()),
                                  float(seconds[lever][:k].sum())))
    return rows


def _one_round_config(run: RunFolder, comp: Competition, screen: Screen) -> Config:
    info = run.read_info()
    cfg = Config.from_dict(info["config"])
    if cfg.second_round != "off" or cfg.clean_epochs:
        raise UserError(f"{run.path}: the screen needs a one-round run (second_round off, no "
                        "clean epochs): its members are the first rounds the levers go on from")
    if info.get("data", {}).get("fingerprint") != data_fingerprint(comp):
        raise UserError(f"{run.path}: trained on other data than --data")
    if screen.teacher_seeds > cfg.seeds_per_fold:
        raise UserError(f"--teacher-seeds {screen.teacher_seeds}: {run.path} has only "
                        f"{cfg.seeds_per_fold} member(s) per fold")
    return cfg


Readings = dict[bool, np.ndarray]  # TTA off / on -> validation probabilities


def _fold_levers(run: RunFolder, cfg: Config, comp: Competition, screen: Screen, fold: int,
                 split: tuple[np.ndarray, np.ndarray], log: Log | None,
                 ) -> Iterator[tuple[str, dict[bool, list[np.ndarray]], list[float], int]]:
    """(lever, {tta: its members' probabilities}, each member's stage seconds, the fewest
    members per fold its rows average) for one fold, each stage cached."""
    from solution.models.layers import load_model

    train_index, val_index = split
    val_images = comp.train_images[val_index]
    cache = run.path / "levers"

    def readings(model) -> Readings:
        return {tta: predict_probs(model, val_images, tta) for tta in (False, True)}

    def cached(name: str, make: Callable[[], tuple[object, float]]) -> tuple[Readings, float]:
        path = cache / f"{name}.npz"
        if not path.is_file():
            model, spent = make()
            probs = readings(model)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as stream:
                np.savez(stream, plain=probs[False], tta=probs[True], seconds=spent)
            if log:
                log(f"fold {fold + 1}/{N_FOLDS} {name}: accuracy "
                    f"{np.mean(probs[False].argmax(1) == comp.train_labels[val_index]):.5f} "
                    f"({spent:.0f}s)")
        stored = np.load(path)
        return {False: stored["plain"], True: stored["tta"]}, float(stored["seconds"])

    def member(seed_index: int):
        return load_model(run.member(fold, seed_index).model)

    fit = partial(fit_member, val_images=val_images, val_labels=comp.train_labels[val_index])

    def trained(config: Config, model, images, targets, seed: int):
        started = time.perf_counter()
        model, _ = fit(config, images, targets, seed=seed, model=model)
        return model, time.perf_counter() - started

    train_images, train_labels = comp.train_images[train_index], comp.train_labels[train_index]
    seeds = range(cfg.seeds_per_fold)
    base = [cached(f"fold{fold}_seed{s}_as_trained", lambda s=s: (member(s), 0.0))
            for s in seeds]
    yield "as trained", _by_tta(base), [0.0] * len(base), 1
    cleans = {rate: clean_config(cfg.replace(clean_epochs=1, clean_learning_rate=rate))
              for rate in screen.clean_rates}
    polished_seeds: dict[float, list[tuple[Readings, float]]] = {}
    for rate, clean in cleans.items():
        done = polished_seeds[rate] = [
            cached(f"fold{fold}_seed{s}_clean{rate:g}",
                   lambda s=s, c=clean: trained(
                       c, member(s), train_images, train_labels,
                       member_seed(screen.base_seed, fold, s) + CLEAN_SEED_OFFSET))
            for s in seeds]
        yield f"+ a clean epoch at lr {rate:g}", _by_tta(done), [t for _, t in done], 1
    # the default's second round, distilled from the average of the fold's first T members'
    # TTA readings of the test images (T = 1: the default itself)
    teacher_seeds = screen.teacher_seeds
    seed0 = member_seed(screen.base_seed, fold, 0)
    distil = cfg.replace(second_round="distil", second_round_epochs=screen.distil_epochs)
    student = f"fold{fold}_student{teacher_seeds}" + (
        f"_distil{screen.distil_epochs}" if screen.distil_epochs != Screen.distil_epochs else "")
    student_path = cache / f"{student}.keras"

    @lru_cache(maxsize=1)  # read once per fold, and only when a student trains
    def teacher_reading() -> np.ndarray:
        return fold_teacher_reading([member(s) for s in range(teacher_seeds)], comp.test_images)

    def taught_student(seed_index: int = 0, path: Path | None = None, config: Config = distil):
        started = time.perf_counter()
        model, _ = second_round_fit(config, fit, member(seed_index), train_images, train_labels,
                                    comp.test_images, teacher_reading(),
                                    member_seed(screen.base_seed, fold, seed_index))
        spent = time.perf_counter() - started
        if path is not None:
            with atomic_path(path) as tmp:
                model.save(tmp)
        return model, spent

    name = f"seed 0 distilled from the fold's first {teacher_seeds} member(s)"
    taught, spent = cached(student, partial(taught_student, 0, student_path))
    yield name, _by_tta([(taught, spent)]), [spent], 1
    yield _beside(name, taught, spent, base)
    if teacher_seeds > 1:  # second_round_seeds = 0: every member the teacher averages distils
        students = [(taught, spent)] + [cached(f"{student}_seed{s}", partial(taught_student, s))
                                        for s in range(1, teacher_seeds)]
        yield f"seeds 0-{teacher_seeds - 1} each distilled from the fold's first " \
            f"{teacher_seeds} member(s)", _by_tta(students), [t for _, t in students], 2
    rate = screen.clean_rates[0]
    clean = cleans[rate]
    polished, extra = cached(
        f"{student}_clean{rate:g}",
        lambda: trained(clean, load_model(student_path), train_images,
                        train_labels, seed0 + CLEAN_SEED_OFFSET))
    polished_name = f"{name}, + a clean epoch at lr {rate:g}"
    yield polished_name, _by_tta([(polished, spent + extra)]), [spent + extra], 1
    # the default with `clean_epochs` 1: every member of the fold ends with the clean epoch
    yield _beside(polished_name, polished, spent + extra, polished_seeds[rate],
                  "as trained + the same")
    if screen.student_ema:  # the weights' EMA through the round, its cosine tail weighing most
        ema = distil.replace(ema_momentum=screen.student_ema)
        averaged, ema_spent = cached(f"{student}_ema{screen.student_ema:g}",
                                     partial(taught_student, 0, None, ema))
        ema_name = f"{name}, saving the EMA {screen.student_ema:g} of its weights"
        yield ema_name, _by_tta([(averaged, ema_spent)]), [ema_spent], 1
        yield _beside(ema_name, averaged, ema_spent, base)


def _beside(name: str, student: Readings, spent: float,
            seeds: Sequence[tuple[Readings, float]], how: str = "as trained",
            ) -> tuple[str, dict[bool, list[np.ndarray]], list[float], int]:
    """The default's fold: seed 0's student averaged with seeds 1+ as `seeds` holds them (their
    first rounds, or those given a stage too, whose seconds the row then counts)."""
    done = [(student, spent), *seeds[1:]]
    return f"{name}, with seeds 1+ {how}", _by_tta(done), [t for _, t in done], 2


def _by_tta(done: Sequence[tuple[Readings, float]]) -> dict[bool, list[np.ndarray]]:
    return {tta: [probs[tta] for probs, _ in done] for tta in (False, True)}


def screen_table(rows: Sequence[ScreenRow]) -> Table:
    return Table(
        (Column("lever"), Column("members per fold", "right"), Column("TTA"),
         Column("OOF accuracy", "right"), Column("wrong", "right"),
         Column("train s (the lever's stage)", "right")),
        [(r.lever, str(r.members_per_fold), "yes" if r.tta else "no", f"{r.accuracy:.5f}",
          str(r.errors), f"{r.seconds:.0f}") for r in rows])

