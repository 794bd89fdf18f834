"""`solution` command line: parse, call one function, turn known errors into one-line messages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from solution.data.competition import DataError
from solution.data.submission import SubmissionError
from solution.profiles import PROFILES, get_profile

USAGE_ERRORS = (DataError, SubmissionError, ValueError, FileNotFoundError)


def log(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


data_option = click.option(
    "--data", "data", default=None, metavar="PATH",
    help="Kaggle zip or folder with train.csv/test.csv (default: data/, then "
         "/kaggle/input/digit-recognizer).")
profile_option = click.option(
    "--profile", type=click.Choice(list(PROFILES)), default="default", show_default=True,
    help="Compute budget: smoke (seconds), quick, default (this 2-core CPU), full (GPU/night).")
threads_option = click.option("--threads", type=click.IntRange(1), default=None,
                              help="Bound TensorFlow's CPU threads (default: all cores).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Kaggle Digit Recognizer: augmented CNN ensemble under 5-fold CV."""


@main.command()
@data_option
@click.option("--train-csv", type=click.Path(), default=None, help="Explicit train.csv path.")
@click.option("--test-csv", type=click.Path(), default=None, help="Explicit test.csv path.")
@click.option("--sample-csv", type=click.Path(), default=None,
              help="Explicit sample_submission.csv path (checked against when given).")
@profile_option
@click.option("--config", "config_file", type=click.Path(), default=None,
              help="JSON configuration (or a tuning best.json) instead of the tuned/default one.")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--out", "submission_path", type=click.Path(dir_okay=False),
              default="submissions/submission.csv", show_default=True)
@click.option("--studies-dir", type=click.Path(file_okay=False), default="optuna_studies",
              show_default=True, help="Where tuning results (best.json) are looked for.")
@click.option("--seed", "base_seed", type=int, default=0, show_default=True)
@click.option("--models", default=None, metavar="ARCH[,ARCH...]",
              help="Architectures to ensemble, each with its own fold models, e.g. default,m5,m7 "
                   "(default: the configuration's own arch).")
@threads_option
def submit(data, train_csv, test_csv, sample_csv, profile, config_file, runs_dir,
           submission_path, studies_dir, base_seed, models, threads) -> None:
    """Train the fold models (reusing finished ones) and write submission.csv."""
    from dataclasses import replace

    from solution.data.competition import load_competition
    from solution.ensemble import config_for, parse_models, submit_models
    from solution.submit import resolve_config
    from solution.submit import submit as run_submit
    from solution.training.fit import configure_tensorflow

    try:
        chosen = get_profile(profile)
        resolved = resolve_config(chosen, config_file, studies_dir)
        archs = parse_models(models) if models is not None else ()
        comp = load_competition(data, train_csv=train_csv, test_csv=test_csv,
                                sample_csv=sample_csv)
        configure_tensorflow(threads)
        if len(archs) > 1:
            info = submit_models(comp, chosen, resolved, archs, runs_dir=Path(runs_dir),
                                 submission_path=Path(submission_path), base_seed=base_seed,
                                 log=log, studies_dir=Path(studies_dir))
        else:
            if archs:
                resolved = replace(resolved, config=config_for(resolved.config, archs[0]))
            info = run_submit(comp, chosen, resolved, runs_dir=Path(runs_dir),
                              submission_path=Path(submission_path), base_seed=base_seed,
                              log=log, studies_dir=Path(studies_dir))
    except USAGE_ERRORS as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; finished fold models are kept, run the same command to resume", 130)
    folds = "  ".join(f"{float(v):.5f}" for v in info["fold_accuracies"].values())
    click.echo(f"fold accuracies: {folds}")
    for entry in info.get("architectures", []):
        click.echo(f"  {entry['arch']}: CV accuracy {entry['cv_accuracy']:.5f}")
    click.echo(f"5-fold CV accuracy: {info['cv_accuracy']:.5f} "
               f"({info['data']['train_rows']} rows, {info['timings']['wall_seconds']:.0f}s)")
    click.echo(f"run folder: {Path(runs_dir) / info['run_id']}")
    click.echo(f"submission: {submission_path}")


@main.command()
@click.option("--run", "run_path", type=click.Path(file_okay=False), default=None,
              help="Run folder (default: the latest in runs/).")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@data_option
@click.option("--studies-dir", type=click.Path(file_okay=False), default="optuna_studies",
              show_default=True, help="Tuning plots found here are linked from report.html.")
def report(run_path, runs_dir, data, studies_dir) -> None:
    """Re-make the report files (PNGs, report.html) of a finished run."""
    import json

    import numpy as np

    from solution.reporting.run_report import MISTAKES, save_mistakes, write_report
    from solution.submit import latest_run, subset

    try:
        run_dir = Path(run_path) if run_path else latest_run(Path(runs_dir))
        labels_path = run_dir / "train_labels.npy"
        if not labels_path.is_file():
            raise FileNotFoundError(f"{run_dir}: not a finished run (no train_labels.npy)")
        labels = np.load(labels_path)
        if not (run_dir / MISTAKES).is_file():  # runs made before the gallery existed
            from solution.data.competition import load_competition
            from solution.profiles import get_profile

            info = json.loads((run_dir / "run.json").read_text())
            comp = subset(load_competition(data or info["data"]["source"]),
                          get_profile(info["profile"]).max_train_rows)
            save_mistakes(run_dir, comp.train_images, labels, np.load(run_dir / "oof_probs.npy"))
        metrics = write_report(run_dir, labels, Path(studies_dir))
    except USAGE_ERRORS as exc:
        fail(str(exc))
    click.echo(metrics["classification_text"])
    click.echo(f"OOF accuracy {metrics['accuracy']:.5f}; report: {run_dir / 'report.html'}")


# Tuning commands (tune, study, dashboard) live in their own module.
from solution.cli_tune import dashboard, study, tune  # noqa: E402

for _command in (tune, study, dashboard):
    main.add_command(_command)

if __name__ == "__main__":
    main()
