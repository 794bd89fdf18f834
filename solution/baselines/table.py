"""The comparison table: every model under the same folds, rows, profile and machine.

A network row trains (or reuses) the architecture's fold models through `run_cv`, in the very run
folder `submit` would use, so re-making the table costs only the predict-time measurement; the
k-NN row reuses its own cached folds. Columns: parameters, multiply-accumulates per image, OOF
accuracy and macro F1 over the rows the chosen folds validate, training seconds summed over those
folds, and prediction milliseconds per 1,000 images (median of 3 timed runs after a warm-up).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from solution.atomic import write_json, write_text
from solution.baselines.balance import balance_markdown, balance_note, balance_table
from solution.baselines.knn import KnnSettings, knn_cv
from solution.config import ARCHS, Config
from solution.data.competition import NUM_CLASSES, Competition
from solution.profiles import Profile
from solution.reporting.provenance import library_versions
from solution.reporting.tables import Column, Table, titled
from solution.training.cv import run_cv, run_id
from solution.training.fit import Log
from solution.training.folds import FOLD_SEED, N_FOLDS, stratified_folds

MODELS = ("knn", *ARCHS)
TABLE_ORDER = ("knn", "mlp512", "mlp1024", "lenet5", "cnn", "m3", "m5", "m7")  # simple first
DEFAULT_MODELS = ("knn", "mlp512", "mlp1024", "lenet5", "cnn")


@dataclass(frozen=True)
class Row:
    model: str
    parameters: int  # trainable and stored numbers (k-NN: PCA basis + stored training points)
    macs: int  # multiply-accumulates for one image
    oof_accuracy: float
    macro_f1: float
    rows: int  # validation rows the figures cover
    train_seconds: float  # summed over the folds (k-NN: PCA + grid search + fit)
    predict_ms_per_1000: float
    oversample: str
    run: str  # run folder the figures come from
    note: str = ""


def scores(labels: np.ndarray, oof: np.ndarray) -> tuple[float, float, int]:
    """(accuracy, macro F1, rows) over the rows with out-of-fold predictions."""
    from sklearn.metrics import f1_score

    covered = ~np.isnan(oof[:, 0])
    y, p = labels[covered], oof[covered].argmax(1)
    return float(np.mean(y == p)), float(f1_score(y, p, average="macro")), int(covered.sum())


def time_predict(model, images: np.ndarray, tta: bool, repeats: int = 3) -> float:
    """Milliseconds per 1,000 images of `predict_probs`: one warm-up, then the median."""
    from solution.training.fit import predict_probs

    predict_probs(model, images, tta)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict_probs(model, images, tta)
        times.append(time.perf_counter() - started)
    return 1e6 * float(np.median(times)) / len(images)


def network_row(arch: str, comp: Competition, profile: Profile, folds: Sequence[int],
                runs_dir: Path, base_seed: int, log: Log | None) -> Row:
    """Train/reuse the architecture's members of `folds` under the profile's default config."""
    cfg = profile.apply(Config()).replace(arch=arch)
    return measure_network(cfg, arch, comp, folds, runs_dir, base_seed, log)[0]


def measure_network(cfg: Config, label: str, comp: Competition, folds: Sequence[int],
                    runs_dir: Path, base_seed: int, log: Log | None,
                    ) -> tuple[Row, np.ndarray, list]:
    """Train/reuse `cfg`'s members of `folds` in its run folder; the row, OOF probabilities
    (NaN where no chosen fold validates) and the members."""
    from solution.models.cnn import count_macs
    from solution.models.layers import load_model

    run_dir = Path(runs_dir) / run_id(cfg, comp)
    result = run_cv(cfg, comp, run_dir, folds=folds, predict_test=False, base_seed=base_seed,
                    log=log)
    accuracy, f1, rows = scores(comp.train_labels, result.oof_probs)
    train_seconds = sum(json.loads(m.model_path.with_suffix(".json").read_text())["seconds"]
                        for m in result.members)
    model = load_model(result.members[0].model_path)
    _, val_index = stratified_folds(comp.train_labels)[result.members[0].fold]
    predict_ms = cfg.seeds_per_fold * time_predict(model, comp.train_images[val_index[:1000]],
                                                   cfg.tta)
    row = Row(label, int(model.count_params()) * cfg.seeds_per_fold,
              count_macs(model) * cfg.seeds_per_fold, accuracy, f1, rows,
              round(train_seconds, 1), round(predict_ms, 1), "none", run_dir.name,
              f"{cfg.epochs} epochs x {cfg.seeds_per_fold} seed(s) per fold"
              + (", TTA" if cfg.tta else ""))
    return row, result.oof_probs, result.members


def knn_row(comp: Competition, folds: Sequence[int], runs_dir: Path, oversample: str,
            log: Log | None) -> Row:
    settings = KnnSettings(oversample=oversample)
    result = knn_cv(comp, settings, runs_dir, folds=folds, log=log)
    accuracy, f1, rows = scores(comp.train_labels, result.oof_probs)
    fit_rows = int(np.median([f["fit_rows"] for f in result.folds]))
    chosen = sorted({f"k={f['k']} {f['weights']}" for f in result.folds})
    return Row("knn", settings.components * (784 + fit_rows) + 784,
               settings.components * (784 + fit_rows), accuracy, f1, rows,
               round(sum(f["train_seconds"] for f in result.folds), 1),
               round(float(np.median([f["predict_ms_per_1000"] for f in result.folds])), 1),
               oversample, result.run_dir.name,
               f"PCA {settings.components}, chosen per fold: {', '.join(chosen)}")


def build_table(comp: Competition, full_labels: np.ndarray, profile: Profile,
                models: Sequence[str], oversamplers: Sequence[str], runs_dir: Path,
                out_dir: Path, base_seed: int = 0, log: Log | None = None) -> dict:
    """Measure every row, then write baselines-<profile>.md and .json into `out_dir`.

    Rows of the same scope measured by an earlier call for other models (or other oversampling)
    are kept, so `MODELS=m5` adds a row to the table instead of replacing it.
    """
    folds = list(range(profile.tune_folds))
    scope = scope_text(profile, len(comp.train_labels), len(full_labels), folds)
    out_dir = Path(out_dir)
    rows: list[Row] = []
    for name in models:
        if log:
            log(f"baseline {name}")
        if name == "knn":
            rows += [knn_row(comp, folds, runs_dir, how, log) for how in oversamplers]
        else:
            rows.append(network_row(name, comp, profile, folds, runs_dir, base_seed, log))
    rows = merged(earlier_rows(out_dir / f"baselines-{profile.name}.json", scope), rows)
    oversamplers = list(dict.fromkeys(r.oversample for r in rows if r.model == "knn")) or \
        list(oversamplers)
    table = {"profile": profile.name, "scope": scope, "cpu_cores": os.cpu_count(),
             "rows": [asdict(r) for r in rows], "class_counts_full": np.bincount(
                 full_labels, minlength=NUM_CLASSES).tolist(), "versions": library_versions(),
             "tables": titled_tables(rows, scope, profile, full_labels, oversamplers)}
    write_json(out_dir / f"baselines-{profile.name}.json", table)
    write_text(out_dir / f"baselines-{profile.name}.md",
               markdown(rows, scope, profile, full_labels, oversamplers))
    return table


def earlier_rows(path: Path, scope: str) -> list[Row]:
    """The rows of an earlier table of the same scope (none if it is missing or differs)."""
    try:
        table = json.loads(path.read_text())
        return [Row(**row) for row in table["rows"]] if table.get("scope") == scope else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def merged(earlier: list[Row], fresh: list[Row]) -> list[Row]:
    """Earlier rows, each replaced by its fresh measurement; new rows after them, zoo order."""
    fresh_by_key = {(r.model, r.oversample): r for r in fresh}
    rows = [fresh_by_key.pop((r.model, r.oversample), r) for r in earlier]
    return sorted([*rows, *fresh_by_key.values()], key=lambda r: TABLE_ORDER.index(r.model))


def scope_text(profile: Profile, rows: int, full_rows: int, folds: Sequence[int]) -> str:
    """Which rows and folds a table's figures cover."""
    return (f"profile `{profile.name}`: {rows:,} of {full_rows:,} training rows, folds "
            f"{', '.join(str(f + 1) for f in folds)} of the shared {N_FOLDS} (StratifiedKFold, "
            f"seed {FOLD_SEED})")


def baselines_table(rows: Sequence[Row]) -> Table:
    """Figures rounded as far as their noise allows: five places of accuracy, whole seconds."""
    right = ("parameters", "MACs / image", "OOF accuracy", "macro F1", "train s",
             "predict ms / 1k")
    return Table((Column("model"), *(Column(name, "right") for name in right),
                  Column("oversample"), Column("notes")),
                 [(r.model, f"{r.parameters:,}", f"{r.macs:,}", f"{r.oof_accuracy:.5f}",
                   f"{r.macro_f1:.5f}", f"{r.train_seconds:,.0f}", f"{r.predict_ms_per_1000:,.1f}",
                   r.oversample, r.note) for r in rows])


def _intro(scope: str, profile: Profile) -> list[str]:
    first = "" if profile.tune_folds == N_FOLDS and profile.max_train_rows is None else (
        " A first table: the figures cover a subset, so they are noisier and lower than "
        "`--profile default` (all rows, all 5 folds) gives.")
    return [f"Measured on {scope}, on this machine ({os.cpu_count()} CPU cores).{first}",
            "Networks train with the profile's default configuration and augmentation; "
            "times are training seconds summed over the folds and prediction milliseconds "
            "per 1,000 images (median of 3 after a warm-up)."]


def _notes(oversamplers: Sequence[str]) -> list[str]:
    notes = ["k-NN parameters and MACs count the stored PCA basis and training points it "
             "compares every image with."]
    if set(oversamplers) != {"none"}:
        notes.append("Oversampling resamples only the rows a k-NN is fitted on, inside each "
                     "fold; the networks train on the folds as they are.")
    return notes


def titled_tables(rows: Sequence[Row], scope: str, profile: Profile, full_labels: np.ndarray,
                  oversamplers: Sequence[str]) -> list[dict]:
    """What `markdown` shows, as JSON, so the run report renders it without parsing Markdown."""
    return [titled(f"Baselines ({profile.name})", baselines_table(rows), _intro(scope, profile),
                   _notes(oversamplers)),
            titled("Class balance (train.csv)", balance_table(full_labels),
                   notes=[balance_note(full_labels, "train.csv")])]


def markdown(rows: Sequence[Row], scope: str, profile: Profile, full_labels: np.ndarray,
             oversamplers: Sequence[str]) -> str:
    lines = [f"## Baselines ({profile.name})", "", *_intro(scope, profile), "",
             baselines_table(rows).markdown(), ""]
    for note in _notes(oversamplers):
        lines += [note, ""]
    lines += ["### Class balance (train.csv)", "", balance_markdown(full_labels, "train.csv")]
    return "\n".join(lines)
