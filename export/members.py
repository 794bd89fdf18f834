"""Prepare the members to export: load each fold model, prune it, fine-tune, keep or fall back.

A pruned member is kept only if it loses at most `max_pruned_drop_pp` accuracy on its own
validation fold; otherwise the unpruned member is exported and the report says so. Either way
the member's Keras probabilities on its validation fold are kept: they are the reference the
int8 graph is judged against.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from export.calibration import calibration_images
from export.prune import PrunePlan, plan_pruning, prune_model, recalibrate_batch_norm
from export.run import Member, Run
from export.settings import ExportSettings
from solution.config import PRUNABLE, Config
from solution.models.cnn import count_macs
from solution.training.cv import CLEAN_SEED_OFFSET, clean_config, joined_history
from solution.training.fit import fit_member, predict_probs
from solution.training.precision import float32_copy

if TYPE_CHECKING:
    import keras

Log = Callable[[str], None]


@dataclass
class PreparedMember:
    """A member ready for conversion, with the figures the report and manifest show."""

    member: Member
    model: keras.Model  # pruned or not: the network that is exported
    config: Config  # its configuration (`channels` set when pruned)
    pruned: bool
    macs_before: int
    macs_after: int
    accuracy_before: float  # unpruned member on its own validation fold
    accuracy_after: float  # exported member on the same rows
    val_probs: np.ndarray  # (V, 10) Keras probabilities of the exported member on its fold
    note: str  # why it was (not) pruned
    seconds: float

    @property
    def drop_pp(self) -> float:
        return 100.0 * (self.accuracy_before - self.accuracy_after)

    def summary(self) -> dict:
        return {"member": self.member.name, "arch": self.config.arch,
                "weight": self.member.weight, "fold": self.member.fold, "seed": self.member.seed,
                "pruned": self.pruned, "channels": list(self.config.layer_widths()
                                                 if self.config.arch in PRUNABLE else ()),
                "macs_before": self.macs_before, "macs_after": self.macs_after,
                "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after,
                "drop_pp": self.drop_pp, "validation_rows": len(self.member.val_index),
                "note": self.note, "seconds": round(self.seconds, 1)}


def prepare_members(run: Run, settings: ExportSettings, log: Log | None = None,
                    ) -> list[PreparedMember]:
    """Every member of the run, pruned and fine-tuned where that keeps its accuracy."""
    return [_prepare(run, member, model, plans, settings, log)
            for member, model, plans in _loaded(run, settings, log)]


def _loaded(run: Run, settings: ExportSettings, log: Log | None,
            ) -> Iterator[tuple[Member, keras.Model, list[PrunePlan]]]:
    """Each member's float32 network, one at a time, with its architecture's rungs (planned
    once per configuration)."""
    from solution.models.layers import load_model

    plans: dict[str, list[PrunePlan]] = {}
    for member in run.members:
        key = member.config.fingerprint()
        if key not in plans:
            plans[key] = rung_plans(member.config, settings, log)
        yield member, float32_copy(load_model(member.model_path, compile=False)), plans[key]


def rung_plans(cfg: Config, settings: ExportSettings, log: Log | None) -> list[PrunePlan]:
    """The architecture's pruning rungs, heaviest first, each narrower network once; none when
    pruning is off or impossible for this network. `solution bench widths` times these."""
    if not settings.prune:
        return []
    plans: list[PrunePlan] = []
    for target in settings.prune_targets:
        try:
            plan = plan_pruning(cfg, target, settings.stage_floor, settings.width_multiple)
        except ValueError as exc:
            if log:
                log(f"pruning rung {target:.0%} skipped for {cfg.arch}: {exc}")
            continue
        if all(plan.widths != other.widths for other in plans):
            plans.append(plan)
    return plans


def prepare_options(run: Run, settings: ExportSettings, log: Log | None = None,
                    ) -> list[list[PreparedMember]]:
    """Every member of the run as trained and at every rung, for a choice made across members
    (`export.budget`): each rung's copy is fine-tuned whatever the heavier one lost."""
    options = []
    for member, model, plans in _loaded(run, settings, log):
        options.append(list(member_options(run, member, model, plans, settings)))
        if log:
            log(f"{member.name}: " + "; ".join(
                f"{'/'.join(map(str, o.config.layer_widths()))} {o.accuracy_after:.5f}"
                for o in options[-1]) + f" on its fold ({options[-1][-1].seconds:.0f}s)")
    return options


def member_options(run: Run, member: Member, model: keras.Model, plans: Sequence[PrunePlan],
                   settings: ExportSettings) -> Iterator[PreparedMember]:
    """The member as trained, then one pruned, fine-tuned copy per rung, heaviest first. Lazily:
    a caller that stops at the first rung that holds pays for no lighter one."""
    started = time.perf_counter()
    val_images, val_labels = run.images[member.val_index], run.labels[member.val_index]
    base_probs = predict_probs(model, val_images)
    base_acc = _accuracy(base_probs, val_labels)
    macs = count_macs(model)
    cfg = member.config
    yield PreparedMember(member, model, cfg, False, macs, macs, base_acc, base_acc, base_probs,
                         "as trained", time.perf_counter() - started)
    if not plans:
        return
    train_index = member.train_index(len(run.labels))
    train_images = run.images[train_index]
    targets = (predict_probs(model, train_images) if settings.finetune_targets == "member"
               else run.labels[train_index])
    sample = calibration_images(train_images, run.labels[train_index],
                                min(settings.recalibration_images, len(train_index)),
                                settings.seed) if cfg.batch_norm else None  # the same every rung
    for plan in plans:
        pruned, pruned_cfg = prune_model(model, cfg, plan.widths)
        if sample is not None:
            recalibrate_batch_norm(pruned, sample)
        pruned, _ = finetune_pruned(pruned, pruned_cfg, train_images, targets, val_images,
                                    val_labels, settings,
                                    seed=settings.seed + member.seed)  # distinct per member
        probs = predict_probs(pruned, val_images)
        acc = _accuracy(probs, val_labels)
        after = count_macs(pruned)
        yield PreparedMember(member, pruned, pruned_cfg, True, macs, after, base_acc, acc, probs,
                             f"pruned: {1 - after / macs:.1%} fewer MACs, accuracy "
                             f"{base_acc:.5f} -> {acc:.5f} on its fold",
                             time.perf_counter() - started)


def _prepare(run: Run, member: Member, model: keras.Model, plans: Sequence[PrunePlan],
             settings: ExportSettings, log: Log | None) -> PreparedMember:
    """The first rung whose pruned, fine-tuned copy keeps the member's fold accuracy, else the
    member as trained: a lighter rung costs one more fine-tune only for a member the heavier one
    failed."""
    started = time.perf_counter()
    options = member_options(run, member, model, plans, settings)
    base = next(options)
    if not plans:
        result = dataclasses.replace(base, note="not pruned (pruning off or impossible)")
    else:
        lost: list[str] = []  # what each heavier rung lost
        for option in options:
            if option.drop_pp <= settings.max_pruned_drop_pp + 1e-9:
                result = dataclasses.replace(option, note=option.note + (
                    f" (heavier: lost {', '.join(lost)})" if lost else ""))
                break
            lost.append(f"{option.drop_pp:.3f} pp at "
                        f"{1 - option.macs_after / option.macs_before:.1%} fewer MACs "
                        f"({option.accuracy_before:.5f} -> {option.accuracy_after:.5f})")
        else:
            result = dataclasses.replace(
                base, note=f"NOT pruned: the pruned net lost {'; '.join(lost)} on its fold "
                           f"(limit {settings.max_pruned_drop_pp} pp): exporting the unpruned one",
                seconds=time.perf_counter() - started)
    if log:
        log(f"{member.name}: {result.note} ({result.seconds:.0f}s)")
    return result


def finetune_pruned(pruned: keras.Model, pruned_cfg: Config, images: np.ndarray,
                    targets: np.ndarray, val_images: np.ndarray, val_labels: np.ndarray,
                    settings: ExportSettings, seed: int,
                    ) -> tuple[keras.Model, dict[str, list[float]]]:
    """A few augmented epochs from a rate above the trained schedule's last one, then the
    member's own clean epochs where it had some, so the pruned copy ends its training the way
    the member did (a warped last epoch would undo what the clean ones bought).

    `targets` are class indices (N,) or the unpruned member's probabilities (N, 10). The
    probabilities were tried because distilled students lost 0.16-0.18 pp to pruning on the
    labels; they lost more on them (README, issue 21's levers)."""
    tune_cfg = pruned_cfg.replace(epochs=settings.finetune_epochs, schedule="exponential",
                                  warmup=0.0, learning_rate=settings.finetune_lr,
                                  lr_decay=settings.finetune_lr_decay)
    pruned, history = fit_member(tune_cfg, images, targets, val_images, val_labels, seed=seed,
                                 model=pruned)
    if pruned_cfg.clean_epochs:
        pruned, clean_history = fit_member(clean_config(pruned_cfg), images, targets, val_images,
                                           val_labels, seed=seed + CLEAN_SEED_OFFSET,
                                           model=pruned)
        history = joined_history(history, clean_history)
    return pruned, history


def keep_ensemble_accuracy(run: Run, prepared: list[PreparedMember], settings: ExportSettings,
                           log: Log | None = None) -> list[PreparedMember]:
    """Revert a fold's pruned members where the fold's weighted ensemble loses too much.

    Each member was judged alone on its fold; in an ensemble of several architectures a fold's
    rows are predicted by all their members together, and pruned members that each held their
    own accuracy can still flip the combined vote. One architecture per fold cannot: there the
    fold's members are the whole prediction, so this changes nothing.
    """
    from solution.models.layers import load_model

    result = list(prepared)
    for fold in sorted({p.member.fold for p in prepared}):
        group = [k for k, p in enumerate(prepared) if p.member.fold == fold]
        if not any(prepared[k].pruned for k in group):
            continue
        labels = run.labels[prepared[group[0]].member.val_index]
        weights = [prepared[k].member.weight for k in group]
        before = np.average([unpruned_probs(prepared[k]) for k in group], axis=0,
                            weights=weights)
        after = np.average([prepared[k].val_probs for k in group], axis=0, weights=weights)
        drop = 100.0 * (_accuracy(before, labels) - _accuracy(after, labels))
        if drop <= settings.max_pruned_drop_pp + 1e-9:
            continue
        for k in group:
            p = prepared[k]
            if p.pruned:
                model = float32_copy(
                    load_model(p.member.model_path, compile=False))
                result[k] = PreparedMember(
                    p.member, model, p.member.config, False, p.macs_before, p.macs_before,
                    p.accuracy_before, p.accuracy_before, unpruned_probs(p),
                    f"NOT pruned: alone it held its fold, but the fold's ensemble lost "
                    f"{drop:.3f} pp with it (limit {settings.max_pruned_drop_pp} pp)", p.seconds)
                if log:
                    log(f"{p.member.name}: {result[k].note}")
    return result


def unpruned_probs(p: PreparedMember) -> np.ndarray:
    """The member's probabilities on its fold before pruning, as training stored them."""
    if not p.pruned:
        return p.val_probs
    return np.load(p.member.model_path.with_suffix(".npz"))["val_probs"]


def _accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probs.argmax(1) == labels))
