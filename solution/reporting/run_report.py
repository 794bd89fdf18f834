"""What a run measured, beside its models: confusion matrix, per-digit report, training curves.

Reads only the run folder (run.json, oof_probs.npy, the members' *.json, which an ensemble keeps in
its architectures' run folders) plus the labels, so it can be re-made for an old run. The model
comparison tables of `make baselines` / `make options`, when they exist beside the run, are shown
too.
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
    for info_path, name in member_histories(run_dir):
        info = json.loads(info_path.read_text())
        history, colour = info["history"], f"C{info['fold']}"
        for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            ax.plot(history.get(key, []), color=colour, linestyle="--", alpha=0.7)
            ax.plot(history.get(f"val_{key}", []), color=colour, label=name)
    loss_ax.set(title="loss (dashed: training, augmented)", xlabel="epoch", yscale="log")
    acc_ax.set(title="accuracy (solid: validation fold)", xlabel="epoch")
    if acc_ax.get_legend_handles_labels()[0]:
        acc_ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def member_histories(run_dir: Path) -> list[tuple[Path, str]]:
    """(member .json, legend name) per member: listed in run.json (an ensemble's live in its
    architectures' run folders), else whatever members/ holds."""
    info_path = run_dir / "run.json"
    members = json.loads(info_path.read_text()).get("members", []) if info_path.is_file() else []
    listed = []
    for m in members:
        if "model" not in m:
            continue
        path = (run_dir / m["model"]).with_suffix(".json")
        if path.is_file():
            listed.append((path, f"{m['arch']} {path.stem}" if "arch" in m else path.stem))
    return listed or [(p, p.stem) for p in sorted((run_dir / "members").glob("*.json"))]


def comparison_html(runs_dir: Path) -> str:
    """The `make baselines` / `make options` tables found in runs/baselines, as HTML."""
    import html

    parts = []
    for path in sorted((runs_dir / "baselines").glob("*.md")):
        table: list[list[str]] = []
        for line in [*path.read_text().splitlines(), ""]:
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    table.append(cells)
                continue
            if table:
                head, *body = table
                parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head)
                             + "</tr>" + "".join("<tr>" + "".join(
                                 f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                                 for row in body) + "</table>")
                table = []
            if line.startswith("#"):
                parts.append(f"<h3>{html.escape(line.lstrip('#').strip())}</h3>")
            elif line.strip():
                parts.append(f"<p>{html.escape(line)}</p>")
    return "".join(parts) or "<p>no comparison yet (make baselines, make options)</p>"


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


MISTAKES = "oof_mistakes.npz"


def save_mistakes(run_dir: Path, images: np.ndarray, labels: np.ndarray, oof_probs: np.ndarray,
                  keep: int = 40) -> None:
    """Keep the most confident OOF mistakes (images included) so a report can be re-made alone."""
    covered = ~np.isnan(oof_probs[:, 0])
    predicted = np.where(covered, np.nan_to_num(oof_probs).argmax(1), -1)
    wrong = np.flatnonzero(covered & (predicted != labels))
    confidence = np.nan_to_num(oof_probs).max(1)
    worst = wrong[np.argsort(-confidence[wrong])][:keep]
    with atomic_path(run_dir / MISTAKES) as tmp, open(tmp, "wb") as stream:
        np.savez_compressed(stream, index=worst, images=images[worst], true=labels[worst],
                            predicted=predicted[worst], confidence=confidence[worst])


def plot_mistakes(run_dir: Path, target: Path) -> int:
    """A gallery of the saved mistakes, titled 'true -> predicted (confidence)'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not (run_dir / MISTAKES).is_file():
        return 0
    saved = np.load(run_dir / MISTAKES)
    count = len(saved["index"])
    columns = 8
    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:count]):
        ax.imshow(saved["images"][i], cmap="gray")
        ax.set_title(f"{saved['true'][i]}→{saved['predicted'][i]} "
                     f"({saved['confidence'][i]:.2f})", fontsize=7)
    fig.suptitle("most confident out-of-fold mistakes: true→predicted (confidence)", fontsize=9)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return count


def write_report(run_dir: Path, labels: np.ndarray,
                 studies_dir: Path = Path("optuna_studies")) -> dict:
    """Write metrics.json, classification_report.txt, PNGs and a self-contained report.html."""
    run_dir = Path(run_dir)
    metrics = oof_metrics(labels, np.load(run_dir / "oof_probs.npy"))
    write_json(run_dir / "metrics.json", {k: v for k, v in metrics.items()
                                         if k != "classification_text"})
    write_text(run_dir / "classification_report.txt", metrics["classification_text"])
    plot_curves(run_dir, run_dir / "curves.png")
    plot_confusion(metrics["confusion_matrix"], run_dir / "confusion_matrix.png")
    plot_mistakes(run_dir, run_dir / "mistakes.png")
    write_text(run_dir / "report.html", render_html(run_dir, metrics, Path(studies_dir)))
    return metrics


def render_html(run_dir: Path, metrics: dict, studies_dir: Path) -> str:
    """One HTML file with the pictures inlined, readable offline and attachable to an issue."""
    import base64
    import html

    info_path = run_dir / "run.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    folds = info.get("fold_accuracies", {})
    rows = "".join(f"<tr><td>{int(k) + 1}</td><td>{v:.5f}</td></tr>" for k, v in folds.items())

    def picture(name: str) -> str:
        path = run_dir / name
        if not path.is_file():
            return ""
        data = base64.b64encode(path.read_bytes()).decode()
        return f'<p><img alt="{name}" src="data:image/png;base64,{data}"></p>'

    studies = "".join(
        f'<li><a href="{html.escape(p.resolve().as_uri())}">{html.escape(str(p))}</a></li>'
        for p in sorted(studies_dir.glob("*/*.png")))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>run {html.escape(run_dir.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
td,th{{padding:2px 10px;text-align:right}}img{{max-width:100%}}</style></head><body>
<h1>Run {html.escape(run_dir.name)}</h1>
<p>Out-of-fold accuracy <b>{metrics['accuracy']:.5f}</b> over {metrics['rows']} rows;
profile {html.escape(str(info.get('profile', '?')))}, configuration from
{html.escape(str(info.get('config_source', '?')))}.</p>
<table><tr><th>fold</th><th>accuracy</th></tr>{rows}</table>
<h2>Training curves</h2>{picture("curves.png")}
<h2>Confusion matrix</h2>{picture("confusion_matrix.png")}
<h2>Classification report</h2><pre>{html.escape(metrics['classification_text'])}</pre>
<h2>Most confident mistakes</h2>{picture("mistakes.png")}
<h2>Tuning plots</h2><ul>{studies or "<li>no study yet (make tune)</li>"}</ul>
<h2>Model comparison</h2>{comparison_html(run_dir.parent)}
<h2>Configuration</h2><pre>{html.escape(json.dumps(info.get('config', {}), indent=1))}</pre>
</body></html>
"""
