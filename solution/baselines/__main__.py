"""`python -m solution.baselines`: the comparison table of the model zoo and k-NN (make baselines).

    python -m solution.baselines --data data/digit-recognizer.zip --profile quick
    python -m solution.baselines --models knn --oversample none,random,smote --profile default
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from solution.baselines.table import DEFAULT_MODELS, MODELS
from solution.data import DataError
from solution.profiles import PROFILES


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", default=None, metavar="PATH",
              help="Kaggle zip or folder with train.csv/test.csv (default: data/).")
@click.option("--profile", type=click.Choice(list(PROFILES)), default="quick", show_default=True,
              help="Rows, folds and epochs: quick = 8,400 rows on 2 folds; default = all, 5.")
@click.option("--models", default=",".join(DEFAULT_MODELS), show_default=True,
              help=f"Comma-separated, from: {', '.join(MODELS)}.")
@click.option("--oversample", default="none", show_default=True,
              help="k-NN training rows: none, random, smote, or a list for one row each.")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Where baselines-<profile>.md/.json go (default: <runs-dir>/baselines).")
@click.option("--seed", "base_seed", type=int, default=0, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Bound TensorFlow's CPU threads (default: all cores).")
def main(data, profile, models, oversample, runs_dir, out_dir, base_seed, threads) -> None:
    """Train or reuse every chosen model on the shared folds and write the comparison table."""
    from solution.baselines.balance import parse_oversamplers
    from solution.baselines.table import build_table, parse_models
    from solution.data import load_competition
    from solution.profiles import get_profile
    from solution.submit import subset
    from solution.train import configure_tensorflow

    def log(message: str) -> None:
        click.echo(message, err=True)

    try:
        chosen = get_profile(profile)
        names = parse_models(models)
        oversamplers = parse_oversamplers(oversample)
        full = load_competition(data)
        configure_tensorflow(threads)
        out = Path(out_dir) if out_dir else Path(runs_dir) / "baselines"
        table = build_table(subset(full, chosen.max_train_rows), full.train_labels, chosen,
                            names, oversamplers, Path(runs_dir), out, base_seed, log)
    except (DataError, ValueError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("error: interrupted; finished folds are kept, run again to resume", err=True)
        sys.exit(130)
    click.echo((out / f"baselines-{chosen.name}.md").read_text())
    click.echo(f"table: {out / f'baselines-{chosen.name}.md'} (+ .json, "
               f"{len(table['rows'])} rows)")


if __name__ == "__main__":
    main()
