"""`python -m solution.baselines`: the comparison table of the model zoo and k-NN (make baselines).

    python -m solution.baselines --data data/digit-recognizer.zip --profile quick
    python -m solution.baselines --models knn --oversample none,random,smote --profile default
"""

from __future__ import annotations

from pathlib import Path

import click

from solution.baselines.cli_shared import guarded, log, shared_options
from solution.baselines.table import DEFAULT_MODELS, MODELS
from solution.profiles import PROFILES


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options
@click.option("--profile", type=click.Choice(list(PROFILES)), default="quick", show_default=True,
              help="Rows, folds and epochs: quick = 8,400 rows on 2 folds; default = all, 5.")
@click.option("--models", default=",".join(DEFAULT_MODELS), show_default=True,
              help=f"Comma-separated, from: {', '.join(MODELS)}.")
@click.option("--oversample", default="none", show_default=True,
              help="k-NN training rows: none, random, smote, or a list for one row each.")
def main(data, runs_dir, out_dir, base_seed, threads, profile, models, oversample) -> None:
    """Train or reuse every chosen model on the shared folds and write the comparison table."""
    from solution.baselines.balance import parse_oversamplers
    from solution.baselines.table import build_table, parse_models
    from solution.data.competition import load_competition
    from solution.profiles import get_profile
    from solution.submit import subset
    from solution.training.fit import configure_tensorflow

    chosen = guarded(lambda: get_profile(profile))
    out = Path(out_dir) if out_dir else Path(runs_dir) / "baselines"

    def work() -> dict:
        names = parse_models(models)
        oversamplers = parse_oversamplers(oversample)
        full = load_competition(data)
        configure_tensorflow(threads)
        return build_table(subset(full, chosen.max_train_rows), full.train_labels, chosen,
                           names, oversamplers, Path(runs_dir), out, base_seed, log)

    table = guarded(work)
    click.echo((out / f"baselines-{chosen.name}.md").read_text())
    click.echo(f"table: {out / f'baselines-{chosen.name}.md'} (+ .json, "
               f"{len(table['rows'])} rows)")


if __name__ == "__main__":
    main()
