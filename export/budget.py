"""How far to prune each member so that the ensemble is no slower than a published package.

Without a reference, each member keeps the first rung whose fine-tuned copy loses at most
`max_pruned_drop_pp` on its own fold. On 8,400 rows that limit is 4 images, and the same member at
the same rung moved by up to 5 images from one fine-tune to the next (README, issue 21's
thirteenth session): the limit kept or refused a member by chance, and said nothing of speed,
which is what a user replacing a package asks about. Given the package an export must not be
slower than, every member is fine-tuned at every rung and the export takes the combination that
reads the most out-of-fold images right within that package's int8 time. What the speed costs is
then a count of images, and the ensemble-level pruning check (`Thresholds.pruned_max_drop_pp`)
bounds it.

Time is priced per member from one int8 graph per conv width set (`export.width_bench`, untrained
weights: int8 kernels take as long whatever the values), the reference's members priced the same
way from the widths its manifest records, all taking turns on one thread, in microseconds per
image in a batch of 256. One image alone is not priced: a member's graph alone pays a session
call that the one ensemble graph does not, which drew every option's price towards the same
figure, and in whole ensemble graphs the one-image speed-up of lighter members was as large as
the batch one or larger (README). The export times both whole graphs after the choice, in
batches and for one image, as the check.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from export.manifest import read_manifest
from export.members import PreparedMember
from export.refused import ExportRefused
from export.run import Run
from export.width_bench import BATCH, WidthTiming, time_widths
from solution.config import PRUNABLE, Config

Log = Callable[[str], None]
Widths = tuple[int, ...]


SLACK = 1.0 + 1e-9  # the reference's own widths, summed in another order, still fit


@dataclass(frozen=True)
class Combination:
    """Options chosen for some folds: images read right on their rows and what they cost."""

    right: int
    cost: float  # us per image in a batch of BATCH, one thread
    picks: tuple[tuple[int, ...], ...]  # per fold, the option index of each of its members


def best_within(folds: Sequence[Sequence[tuple[int, float]]], budget: float,
                ) -> Combination | None:
    """The choice of one combination per fold that reads the most images right within `budget`
    (then the cheapest); None when even the cheapest choice exceeds it.

    `folds[f][k]` is fold f's k-th combination: (images right on the fold's rows, its cost). The
    choices grow fold by fold, keeping only those that no cheaper one reads as many right as, so
    five folds of nine combinations stay a few dozen candidates, not 9^5."""
    partial = [Combination(0, 0.0, ())]
    for combos in folds:
        grown = sorted((Combination(p.right + right, p.cost + cost, (*p.picks, (k,)))
                        for p in partial for k, (right, cost) in enumerate(combos)
                        if p.cost + cost <= budget * SLACK),
                       key=lambda c: (c.cost, -c.right))
        partial = []
        for c in grown:
            if not partial or c.right > partial[-1].right:
                partial.append(c)
    return partial[-1] if partial else None  # the most right; the cheapest of those


@dataclass
class BudgetChoice:
    """The chosen option of every member, and the figures the manifest keeps of the choice."""

    chosen: list[PreparedMember]
    record: dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """The package an export must not be slower than: where it is, the network both are built
    from, and the conv widths of each of its members."""

    path: Path
    network: Config  # the run's network as trained (no `channels`)
    widths: tuple[Widths, ...]
    int8_file: Path  # its int8 graph, timed whole against the export's after the choice


def reference_for(run: Run, models_dir: Path) -> Reference:
    """Checked before any member is fine-tuned, so that a wrong folder costs seconds."""
    network = one_network([m.config for m in run.members])
    manifest = read_manifest(models_dir)
    return Reference(models_dir, network, tuple(package_widths(manifest, network, models_dir)),
                     models_dir / manifest["variants"]["int8"]["file"])


def choose_within_budget(run: Run, options: Sequence[Sequence[PreparedMember]],
                         reference: Reference, rounds: int = 5,
                         log: Log | None = None) -> BudgetChoice:
    """Per member, the option (as trained or a rung) of the combination that reads the most
    out-of-fold images right without costing more int8 time than the `reference` package."""
    cfg, reference_widths = reference.network, reference.widths
    option_widths = [[o.config.layer_widths() for o in member] for member in options]
    distinct = list(dict.fromkeys([*itertools.chain.from_iterable(option_widths),
                                   *reference_widths]))
    if log:
        log(f"timing {len(distinct)} width sets in int8 (one thread, {rounds} rounds) to price "
            f"the members against {reference.path}")
    timings = time_widths(cfg, [("/".join(map(str, w)), w) for w in distinct], rounds=rounds)
    price = {t.widths: t.batch_us for t in timings}
    budget = sum(price[w] for w in reference_widths)
    fold_members = _fold_members(options)
    combos = [_fold_combinations(run, [options[k] for k in members], price)
              for members in fold_members.values()]
    best = best_within([[(right, cost) for right, cost, _ in fold] for fold in combos], budget)
    if best is None:
        cheapest = sum(min(price[w] for w in widths) for widths in option_widths)
        raise ExportRefused(
            f"even every member at its lightest rung is slower than {reference.path} "
            f"({cheapest:.0f} vs {budget:.0f} us per image in batches of {BATCH}, one thread); "
            "nothing published")
    chosen: list[PreparedMember | None] = [None] * len(options)
    for members, fold, (pick,) in zip(fold_members.values(), combos, best.picks, strict=True):
        for k, option in zip(members, fold[pick][2], strict=True):
            chosen[k] = _noted(options[k], option, price)
    unpruned = sum(fold[0][0] for fold in combos)  # combination 0: every member as trained
    record = {"reference": str(reference.path), "rounds": rounds,
              "budget_us": budget, "spent_us": best.cost,
              "right_chosen": best.right, "right_unpruned": unpruned,
              "rows": sum(len(options[m[0]][0].member.val_index)
                          for m in fold_members.values()),
              "widths_timing": [_timing_dict(t) for t in timings],
              "reference_widths": [list(w) for w in reference_widths],
              "options": [[{"widths": list(o.config.layer_widths()),
                            "fold_accuracy": o.accuracy_after} for o in member]
                          for member in options]}
    if log:
        log(f"speed budget: {best.right:,} OOF images right (as trained {unpruned:,}) at "
            f"{best.cost:.0f} us per image in batches, against {budget:.0f} for "
            f"{reference.path}")
    return BudgetChoice([c for c in chosen if c is not None], record)


def package_widths(manifest: dict[str, Any], cfg: Config, models_dir: Path) -> list[Widths]:
    """The conv widths of each member of a published package, as its manifest records them."""
    widths = []
    for entry in manifest["members"]:
        channels = tuple(entry.get("channels") or ())
        if entry.get("arch") != cfg.arch or len(channels) != len(cfg.layer_widths()):
            raise ExportRefused(
                f"{models_dir}: member {entry.get('member')} is {entry.get('arch')} with widths "
                f"{list(channels)}; the speed budget prices {cfg.arch} members with "
                f"{len(cfg.layer_widths())} conv widths only")
        widths.append(channels)
    return widths


def one_network(members: Sequence[Config]) -> Config:
    """The run's network as trained: one architecture, the budget's width sets price it."""
    configs = {c.fingerprint(): c for c in (m.replace(channels=()) for m in members)}
    if len(configs) != 1 or next(iter(configs.values())).arch not in PRUNABLE:
        archs = sorted({c.arch for c in configs.values()})
        raise ExportRefused(f"the speed budget prices the members of one prunable network; this "
                            f"run's are {', '.join(archs)} ({len(configs)} configurations)")
    return next(iter(configs.values()))


def _fold_members(options: Sequence[Sequence[PreparedMember]]) -> dict[int, list[int]]:
    folds: dict[int, list[int]] = {}
    for k, member in enumerate(options):
        folds.setdefault(member[0].member.fold, []).append(k)
    return folds


def _fold_combinations(run: Run, members: Sequence[Sequence[PreparedMember]],
                       price: dict[Widths, float],
                       ) -> list[tuple[int, float, tuple[PreparedMember, ...]]]:
    """Every combination of the fold's members' options (the first: all as trained), with the
    images the weighted average reads right on the fold's rows and the combination's cost."""
    labels = run.labels[members[0][0].member.val_index]
    weights = [m[0].member.weight for m in members]
    result = []
    for combo in itertools.product(*members):
        probs = np.average([o.val_probs for o in combo], axis=0, weights=weights)
        right = int(np.sum(probs.argmax(1) == labels))
        cost = sum(price[o.config.layer_widths()] for o in combo)
        result.append((right, cost, combo))
    return result


def _noted(options: Sequence[PreparedMember], chosen: PreparedMember,
           price: dict[Widths, float]) -> PreparedMember:
    """The chosen option, its note saying what the others would have read and cost."""
    def describe(o: PreparedMember) -> str:
        return (f"{'/'.join(map(str, o.config.layer_widths()))} {o.accuracy_after:.5f} "
                f"({price[o.config.layer_widths()]:.0f} us)")

    others = "; ".join(describe(o) for o in options if o is not chosen)
    what = "pruned" if chosen.pruned else "NOT pruned"
    return dataclasses.replace(chosen, note=f"{what} by the speed budget: {describe(chosen)} on "
                               "its fold" + (f"; other options {others}" if others else ""))


def _timing_dict(t: WidthTiming) -> dict[str, Any]:
    return {"widths": list(t.widths), "macs": t.macs, "batch_us": t.batch_us,
            "single_us": t.single_us}
