"""`make demo`: the whole product offline in minutes, on scikit-learn's digits.

Builds a small competition in the Kaggle layout (solution.data.demo), then runs exactly the commands
a user runs on the real data: tune (smoke) -> submit (smoke, using the tuned configuration) ->
study plots -> export (prune, ONNX, int8, parity) -> `digit-edge classify` on rendered scans ->
`digit-edge read` of handwritten ZIP+4 codes and check amounts with the bundled model.
Everything goes under one folder (default demo/); the committed edge models are never touched.

    solution demo [--out demo] [--trials 3]
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import click

from solution.errors import Refused
from solution.runfolder import latest

REPO = Path(__file__).resolve().parents[1]  # the edge bench scripts run as modules from here


class StepFailed(Refused):
    """A demo step exited non-zero; its own message was printed above."""


def run_step(title: str, args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    click.secho(f"\n==> {title}\n    {' '.join(args)}", fg="cyan", err=True)
    started = time.perf_counter()
    proc = subprocess.run(args, stdout=subprocess.PIPE, text=True, cwd=cwd)
    if proc.stdout:
        click.echo(proc.stdout.rstrip(), err=True)
    if proc.returncode != 0:
        raise StepFailed(f"step '{title}' failed with exit code {proc.returncode}")
    click.echo(f"    ({time.perf_counter() - started:.0f}s)", err=True)
    return proc


def edge_accuracy(classify_json: str, labels_csv: Path) -> tuple[float, int]:
    """Share of rendered scans the edge CLI read right (rejects count as wrong)."""
    truth = dict(line.split(",") for line in labels_csv.read_text().splitlines()[1:])
    rows = [json.loads(line) for line in classify_json.splitlines() if line.strip()]
    right = sum(str(r["digit"]) == truth[Path(r["path"]).name] for r in rows)
    return right / max(1, len(rows)), len(rows)


def run_demo(out: Path, trials: int) -> None:
    """Run the offline demo end to end and say where each output is."""
    from solution.data.demo import build_demo_competition, score_submission

    out = out.resolve()  # the field renderer runs from the repository root
    py = sys.executable
    edge_cli = str(Path(py).with_name("digit-edge"))
    click.secho("==> building the demo competition from scikit-learn's digits", fg="cyan",
                err=True)
    data = build_demo_competition(out)
    click.echo(f"    {data.zip_path}: {data.train_rows} training rows, {data.test_rows} test "
               f"rows (labels kept aside in {data.test_labels_path})", err=True)
    common = ["--data", str(data.zip_path), "--profile", "smoke"]
    studies, runs = str(out / "optuna_studies"), str(out / "runs")
    models = out / "edge-models"
    submission = out / "submission.csv"
    run_step("tune (smoke profile)", [py, "-m", "solution", "tune", *common, "--trials",
                                      str(trials), "--studies-dir", studies,
                                      "--runs-dir", runs])
    run_step("study: best trial and plots", [py, "-m", "solution", "study", "--profile",
                                             "smoke", "--studies-dir", studies])
    run_step("submit with the tuned configuration", [
        py, "-m", "solution", "submit", *common, "--studies-dir", studies, "--runs-dir", runs,
        "--out", str(submission)])
    run_dir = latest(Path(runs)).path
    run_step("export: prune, ONNX, int8, parity", [
        py, "-m", "solution", "export", "--run", str(run_dir), "--data", str(data.zip_path),
        "--out", str(models)])
    classified = run_step("digit-edge classify on rendered scans", [
        edge_cli, "classify", str(data.images_dir), "--json", "--model",
        str(models / "digits-int8.onnx")])
    fields = read_written_fields(py, edge_cli, out / "fields")
    accuracy = score_submission(submission, data.test_labels_path)
    scans_right, scans = edge_accuracy(classified.stdout, data.images_dir / "labels.csv")
    click.echo("\nDemo finished. Where things are:")
    click.echo(f"  study, plots, best.json : {studies}/smoke/")
    click.echo(f"  run folder (models, report.html): {run_dir}")
    click.echo(f"  submission              : {submission}")
    click.echo(f"  edge models + manifest  : {models}/")
    click.echo(f"Demo submission accuracy on its {data.test_rows} held-out test digits: "
               f"{accuracy:.4f}")
    click.echo(f"digit-edge (int8) on {scans} rendered scans: {scans_right:.4f} right")
    click.echo("\ndigit-edge read, bundled model, fields of scikit-learn digits it never saw:")
    click.echo(f"  {'format':<13} {'written':>12}  {'read':>12}  confidence")
    for fmt, label, reading in fields:
        shown = reading["text"] + (f"  (rejected: {reading['reason']})" if reading["rejected"]
                                   else "")
        click.echo(f"  {fmt:<13} {label:>12}  {shown:>12}  {reading['confidence']:.3f}")
    click.echo("  pictures of these readings (boxes, confidences, verdicts): " + ", ".join(
        f"{out / 'fields' / name / 'annotated'}/" for name, *_ in FIELD_SETS))
    click.echo("(smoke profile: a width-8 net trained for seconds; `make submit` on the "
               "Kaggle data is the real thing)")


# (subfolder, printed form, formats, fields, seed): plain fields, and amounts in a check's box
FIELD_SETS = (("plain", "none", "zip+4,amount", 6, 7), ("boxed", "box", "amount", 2, 8))


def read_written_fields(py: str, edge_cli: str, folder: Path) -> list[tuple[str, str, dict]]:
    """Render ZIP+4 codes and check amounts with pen-drawn marks (and two amounts written in a
    printed box), read each with the bundled model in its format, drawing a picture of each
    reading: (format, what was written, what `digit-edge read --json` said)."""
    readings = []
    for name, form, formats, count, seed in FIELD_SETS:
        where = (folder / name).resolve()
        run_step(f"render handwritten {formats} fields ({form} form)", [
            py, "-m", "edge.bench.make_fields", "--source", "sklearn", "--fields", str(count),
            "--formats", formats, "--seed", str(seed), "--form", form, "--out", str(where)],
            cwd=REPO)
        with (where / "labels.csv").open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        pictures = where / "annotated"
        pictures.mkdir(exist_ok=True)
        for fmt in dict.fromkeys(row["format"] for row in rows):
            mine = [row for row in rows if row["format"] == fmt]
            proc = run_step(f"digit-edge read --format {fmt}", [
                edge_cli, "read", *[str(where / row["file"]) for row in mine], "--format", fmt,
                "--json", "--annotate", str(pictures)])
            shown = fmt if form == "none" else f"{fmt} in {form}"
            for row, line in zip(mine, proc.stdout.splitlines(), strict=True):
                readings.append((shown, row["label"], json.loads(line)))
    return readings

