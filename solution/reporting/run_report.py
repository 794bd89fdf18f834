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
from solution.data.competition import NUM_CLASSES
from solution.reporting.tables import Table
from solution.runfolder import RunFolder


def oof_metrics(labels: np.ndarray, oof_probs: np.ndarray) -> dict:
    """Confusion matrix and classification report over the rows with OOF predictions."""
    from sklearn.metrics import classification_report, confusion_matrix

    covered = ~np.isnan(oof_probs[:, 0])
    y_true, y_pred = labels[covered], oof_probs[covered].argmax(1)
    return {
        "rows": int(covered.sum()),
        "accuracy": float(np.mean(y_true == y_pred)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(NUM_CLASSES)).tolist(),
        "classification_report": classification_report(
            y_true, y_pred, labels=range(NUM_CLASSES), digits=4, output_dict=True, zero_division=0),
        "classification_text": classification_report(
            y_true, y_pred, labels=range(NUM_CLASSES), digits=4, zero_division=0),
    }


def plot_curves(run: RunFolder, target: Path) -> None:
    """Training and validation loss/accuracy of every member, one colour per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for info_path, name in member_histories(run):
        info = json.loads(info_path.read_text())
        history, colour = info["history"], f"C{info['fold']}"
        for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            for values, style in ((history.get(key, []), dict(linestyle="--", alpha=0.7)),
                                  (history.get(f"val_{key}", []), dict(label=name))):
                ax.plot(range(1, len(values) + 1), values, color=colour, **style)
    loss_ax.set(title="loss (dashed: training, augmented)", xlabel="epoch", yscale="log")
    acc_ax.set(title="accuracy (solid: validation fold)", xlabel="epoch")
    for ax in (loss_ax, acc_ax):  # whole epochs, counted from 1 as the training log counts them
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if acc_ax.get_legend_handles_labels()[0]:
        acc_ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def member_histories(run: RunFolder) -> list[tuple[Path, str]]:
    """(member .json, legend name) per member: listed in run.json (an ensemble's live in its
    architectures' run folders), else whatever members/ holds."""
    members = run.read_info().get("members", []) if run.run_json.is_file() else []
    listed = []
    for m in members:
        if "model" not in m:
            continue
        path = (run.path / m["model"]).with_suffix(".json")
        if path.is_file():
            listed.append((path, f"{m['arch']} {path.stem}" if "arch" in m else path.stem))
    return listed or [(p, p.stem) for p in run.member_infos()]


def comparison_html(runs_dir: Path) -> str:
    """The `make baselines` / `make options` tables found in runs/baselines, as HTML.

    Read from the tables stored in the JSON beside each .md, never from the Markdown; a JSON
    written before tables were stored (or one that cannot be read) is left out, not guessed at.
    """
    import html

    parts = []
    for path in sorted((runs_dir / "baselines").glob("*.json")):
        shown: list[str] = []
        try:
            for stored in json.loads(path.read_text()).get("tables", []):
                shown.append(f"<h3>{html.escape(stored['title'])}</h3>")
                shown += [f"<p>{html.escape(line)}</p>" for line in stored.get("intro", [])]
                shown.append(Table.from_dict(stored).html())
                shown += [f"<p>{html.escape(line)}</p>" for line in stored.get("notes", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        parts += shown
    return "".join(parts) or "<p>no comparison yet (make baselines, make options)</p>"


def plot_confusion(matrix: list[list[int]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6, 5.4))
    # colour the mistakes, not the diagonal
    shown = np.where(np.eye(NUM_CLASSES, dtype=bool), 0, counts)
    ax.imshow(shown, cmap="Reds")
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set(xticks=range(NUM_CLASSES), yticks=range(NUM_CLASSES), xlabel="predicted", ylabel="true",
           title="OOF confusion matrix")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def save_mistakes(run: RunFolder, images: np.ndarray, labels: np.ndarray, oof_probs: np.ndarray,
                  keep: int = 40) -> None:
    """Keep the most confident OOF mistakes (images included) so a report can be re-made alone."""
    covered = ~np.isnan(oof_probs[:, 0])
    predicted = np.where(covered, np.nan_to_num(oof_probs).argmax(1), -1)
    wrong = np.flatnonzero(covered & (predicted != labels))
    confidence = np.nan_to_num(oof_probs).max(1)
    worst = wrong[np.argsort(-confidence[wrong])][:keep]
    with atomic_path(run.mistakes_npz) as tmp, open(tmp, "wb") as stream:
        np.savez_compressed(stream, index=worst, images=images[worst], true=labels[worst],
                            predicted=predicted[worst], confidence=confidence[worst])


def plot_mistakes(run: RunFolder, target: Path) -> int:
    """A gallery of the saved mistakes, titled 'true -> predicted (confidence)'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not run.mistakes_npz.is_file():
        return 0
    saved = np.load(run.mistakes_npz)
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


def write_report(run: RunFolder, studies_dir: Path = Path("optuna_studies")) -> dict:
    """Write metrics.json, classification_report.txt, PNGs and a self-contained report.html,
    from the run folder alone (its labels and OOF probabilities)."""
    metrics = oof_metrics(run.train_labels(), run.oof_probs())
    write_json(run.metrics_json, {k: v for k, v in metrics.items()
                                  if k != "classification_text"})
    write_text(run.classification_txt, metrics["classification_text"])
    plot_curves(run, run.curves_png)
    plot_confusion(metrics["confusion_matrix"], run.confusion_png)
    plot_mistakes(run, run.mistakes_png)
    write_text(run.report_html, render_html(run, metrics, Path(studies_dir)))
    return metrics


def how_trained(info: dict) -> str:
    """What a reader must know to trust the OOF figure: precision, and where a second round's
    test-image labels came from."""
    cfg = info.get("config", {})
    lines = [f"Trained in {info.get('precision', 'float32')}"
             + (", predictions averaged over 5 one-pixel views (TTA)." if cfg.get("tta") else ".")]
    if cfg.get("second_round", "off") != "off":
        kind = ("pseudo-labels (its argmax)" if cfg["second_round"] == "pseudo"
                else "distilled soft labels (its probabilities)")
        seeds = cfg.get("seeds_per_fold", 1)
        students = cfg.get("second_round_seeds", 0)
        fold_teacher = cfg.get("second_round_teacher", "member") == "fold"
        some_kept = 0 < students < seeds  # the others stayed their first rounds
        who = (f"Of the {seeds} members per fold, the first {students} trained" if some_kept
               else "Each member trained")
        teacher = (f"the mean of the fold's {seeds} first rounds (each reading with TTA)"
                   if fold_teacher
                   else "that same member's first round")
        lines.append(
            f"{who} in two rounds: {cfg['epochs']} epochs on its fold's training "
            f"rows, then {cfg['second_round_epochs']} more on those rows plus every test image "
            f"with {kind} from {teacher}"
            + ("; the others are their first rounds" if some_kept else "")
            + ". Fold k's second round learns only from fold k's own first round"
            + ("s" if fold_teacher else "") + ", which never saw fold k's validation rows, so "
            "the out-of-fold accuracy above stays honest; no test label exists or is used.")
    if cfg.get("clean_epochs"):
        before = info.get("before_clean_epochs")
        lines.append(
            f"Each member ended with {cfg['clean_epochs']} clean epoch(s) on its fold's training "
            f"rows without augmentation, from learning rate {cfg['clean_learning_rate']:g} to 0"
            + (f"; before them the OOF accuracy was {before['accuracy']:.5f} "
               f"({before['errors']} wrong)." if before else "."))
    return " ".join(lines)


def render_html(run: RunFolder, metrics: dict, studies_dir: Path) -> str:
    """One HTML file with the pictures inlined, readable offline and attachable to an issue."""
    import base64
    import html

    info = run.read_info() if run.run_json.is_file() else {}
    folds = info.get("fold_accuracies", {})
    rows = "".join(f"<tr><td>{int(k) + 1}</td><td>{v:.5f}</td></tr>" for k, v in folds.items())
    counts = "".join(f"<tr><td>{r['members_per_fold']}</td><td>{r['accuracy']:.5f}</td>"
                     f"<td>{r['errors']}</td><td>{r['train_seconds']:.0f}</td></tr>"
                     for r in info.get("members_per_fold", []))
    if counts:
        counts = ("<h2>Members per fold</h2><p>OOF accuracy of the first k seeds of each fold "
                  "averaged, from the members' stored predictions (the edge export publishes "
                  "the first).</p><table><tr><th>members per fold</th><th>OOF accuracy</th>"
                  f"<th>wrong</th><th>train s</th></tr>{counts}</table>")

    def picture(path: Path) -> str:
        name = path.name
        if not path.is_file():
            return ""
        data = base64.b64encode(path.read_bytes()).decode()
        return f'<p><img alt="{name}" src="data:image/png;base64,{data}"></p>'

    studies = "".join(
        f'<li><a href="{html.escape(p.resolve().as_uri())}">{html.escape(str(p))}</a></li>'
        for p in sorted(studies_dir.glob("*/*.png")))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>run {html.escape(run.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
td,th{{padding:2px 10px;text-align:right}}img{{max-width:100%}}</style></head><body>
<h1>Run {html.escape(run.name)}</h1>
<p>Out-of-fold accuracy <b>{metrics['accuracy']:.5f}</b> over {metrics['rows']} rows;
profile {html.escape(str(info.get('profile', '?')))}, configuration from
{html.escape(str(info.get('config_source', '?')))}.</p>
<table><tr><th>fold</th><th>accuracy</th></tr>{rows}</table>
<p>{html.escape(how_trained(info))}</p>
{counts}
<h2>Training curves</h2>{picture(run.curves_png)}
<h2>Confusion matrix</h2>{picture(run.confusion_png)}
<h2>Classification report</h2><pre>{html.escape(metrics['classification_text'])}</pre>
<h2>Most confident mistakes</h2>{picture(run.mistakes_png)}
<h2>Tuning plots</h2><ul>{studies or "<li>no study yet (make tune)</li>"}</ul>
<h2>Model comparison</h2>{comparison_html(run.runs_dir)}
<h2>Configuration</h2><pre>{html.escape(json.dumps(info.get('config', {}), indent=1))}</pre>
</body></html>
"""
