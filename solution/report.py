"""What a run measured, beside its models: confusion matrix, per-digit report, training curves.

Reads only the run folder (run.json, oof_probs.npy, members/*.json) plus the labels, so it can be
re-made for an old run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from solution.atomic import atomic_path, write_json, write_text


def oof_metrics(labels: np.ndarray, oof_probs: np.ndarray) -> dict:
    """Confusion matrix and classification report over the rows with OOF predictions."""
    from sklearn.metrics import classification_report, confusion_matrix

    covered = ~np.isnan(oof_probs[:, 0])
    y_true, y_pred = labels[covered], oof_probs[covered].argmax(1)
    return {
        "rows": int(covered.sum()),
        "accuracy": float(np.mean(y_true == y_pred)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(10)).tolist(),
        "classification_report": classification_report(
            y_true, y_pred, labels=range(10), digits=4, output_dict=True, zero_division=0),
        "classification_text": classification_report(
            y_true, y_pred, labels=range(10), digits=4, zero_division=0),
    }


def plot_curves(run_dir: Path, target: Path) -> None:
    """Training and validation loss/accuracy of every member, one colour per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for info_path in sorted((run_dir / "members").glob("*.json")):
        info = json.loads(info_path.read_text())
        history, colour = info["history"], f"C{info['fold']}"
        name = info_path.stem
        for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            ax.plot(history.get(key, []), color=colour, linestyle="--", alpha=0.7)
            ax.plot(history.get(f"val_{key}", []), color=colour, label=name)
    loss_ax.set(title="loss (dashed: training, augmented)", xlabel="epoch", yscale="log")
    acc_ax.set(title="accuracy (solid: validation fold)", xlabel="epoch")
    acc_ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def plot_confusion(matrix: list[list[int]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6, 5.4))
    shown = np.where(np.eye(10, dtype=bool), 0, counts)  # colour the mistakes, not the diagonal
    ax.imshow(shown, cmap="Reds")
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title="OOF confusion matrix")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_report(run_dir: Path, labels: np.ndarray) -> dict:
    """Write metrics.json, classification_report.txt, curves.png and confusion_matrix.png."""
    run_dir = Path(run_dir)
    metrics = oof_metrics(labels, np.load(run_dir / "oof_probs.npy"))
    write_json(run_dir / "metrics.json", {k: v for k, v in metrics.items()
                                         if k != "classification_text"})
    write_text(run_dir / "classification_report.txt", metrics["classification_text"])
    plot_curves(run_dir, run_dir / "curves.png")
    plot_confusion(metrics["confusion_matrix"], run_dir / "confusion_matrix.png")
    return metrics
