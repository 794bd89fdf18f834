"""`solution study`: what a tuning study found and what pruning saved, as text and PNG plots.

Reads only the storage, so it works while workers are still running and from any machine that
reaches the storage. Plots (optuna.visualization.matplotlib) go to optuna_studies/<study>/:
history.png, intermediate.png (pruned trials included), importances.png, parallel.png.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from solution.tuning.search_space import SEARCHED

PLOTS = {
    "history.png": "plot_optimization_history",
    "intermediate.png": "plot_intermediate_values",
    "importances.png": "plot_param_importances",
    "parallel.png": "plot_parallel_coordinate",
}
SHORT_NAMES = {"width": "width", "convs_per_stage": "convs", "dropout": "drop",
               "learning_rate": "lr", "lr_decay": "decay", "batch_size": "batch",
               "label_smoothing": "smooth", "rotation": "rot", "zoom": "zoom", "shift": "shift",
               "epochs": "ep"}


@dataclass(frozen=True)
class ComputeSummary:
    """Training seconds spent, and what running every trial to its last fold would have cost."""

    trials: int  # complete + pruned
    pruned: int
    seconds_spent: float
    seconds_if_unpruned: float  # pruned trials extrapolated to all folds at their own pace

    @property
    def pruned_fraction(self) -> float:
        return self.pruned / self.trials if self.trials else 0.0

    @property
    def saved_fraction(self) -> float:
        if self.seconds_if_unpruned <= 0:
            return 0.0
        return 1.0 - self.seconds_spent / self.seconds_if_unpruned

    def text(self) -> str:
        return (f"{self.trials} finished trials, {self.pruned} pruned "
                f"({100 * self.pruned_fraction:.0f}%); training time {self.seconds_spent / 60:.1f} "
                f"min against {self.seconds_if_unpruned / 60:.1f} min without pruning "
                f"({100 * self.saved_fraction:.0f}% saved)")


def compute_summary(study: optuna.Study) -> ComputeSummary:
    folds = len(study.user_attrs.get("folds") or [1])
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    spent = full = 0.0
    pruned = 0
    for trial in trials:
        seconds = float(trial.user_attrs.get("seconds", 0.0))
        done = int(trial.user_attrs.get("folds_done", folds)) or 1
        spent += seconds
        if trial.state == TrialState.PRUNED:
            pruned += 1
            full += seconds / done * folds
        else:
            full += seconds
    return ComputeSummary(len(trials), pruned, spent, full)


def trial_table(study: optuna.Study) -> str:
    """One line per trial: number, state, CV, folds trained, seconds and the parameters."""
    # `arch` only in studies that chose it; "-" where a trial's network does not read a field
    names = [n for n in ("arch", *SEARCHED) if any(n in t.params for t in study.get_trials(False))]
    header = ["#", "state", "cv", "folds", "sec"] + [SHORT_NAMES.get(n, n) for n in names]
    rows = [header]
    for trial in study.get_trials(deepcopy=False):
        rows.append([str(trial.number), trial.state.name.lower(), _value(trial),
                     str(trial.user_attrs.get("folds_done", "")),
                     f"{trial.user_attrs.get('seconds', 0):.0f}"]
                    + [_param(trial.params.get(n)) for n in names])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
                     for row in rows)


def _value(trial: FrozenTrial) -> str:
    if trial.value is not None:
        return f"{trial.value:.5f}"
    if trial.intermediate_values:  # pruned: the running CV it was stopped at
        last = max(trial.intermediate_values)
        return f"({trial.intermediate_values[last]:.5f})"
    return "-"


def _param(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def write_plots(study: optuna.Study, folder: Path) -> tuple[list[Path], list[str]]:
    """The PNG plots that the study's trials allow; returns (written files, skipped reasons)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as oplt

    from solution.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[str] = []
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for name, function in PLOTS.items():
        needed = 2 if name in ("importances.png", "parallel.png") else 1
        if len(complete) < needed:
            skipped.append(f"{name}: needs {needed} complete trial(s)")
            continue
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # no per-plot chatter
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes = getattr(oplt, function)(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            skipped.append(f"{name}: {exc}")
            continue
        finally:
            optuna.logging.set_verbosity(verbosity)
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(16, 7) if name == "parallel.png" else figure.set_size_inches(10, 6)
        figure.tight_layout()
        with atomic_path(folder / name) as tmp:
            figure.savefig(tmp, dpi=100, format="png")
        plt.close(figure)
        written.append(folder / name)
    return written, skipped
