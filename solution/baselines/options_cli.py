"""`python -m solution.baselines.options_cli` (make options): training options and ensembles.

    python -m solution.baselines.options_cli --data data/digit-recognizer.zip --profile quick
    python -m solution.baselines.options_cli --ensembles cnn*2,cnn+m5 --no-options
"""

from __future__ import annotations

from pathlib import Path

import click

from solution.baselines.cli_shared import guarded, log, shared_options
from solution.baselines.options import DEFAULT_ENSEMBLES
from solution.profiles import PROFILES


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options
@click.option("--profile", type=click.Choice(list(PROFILES)), default="quick", show_default=True)
@click.option("--options/--no-options", "with_options", default=True, show_default=True,
              help="Measure the training options (label smoothing, EMA, 2x epochs, TTA).")
@click.option("--only", default=None, metavar="NAME[,NAME...]",
              help="Measure only these options (the default CNN is always measured too).")
@click.option("--folds", "fold_count", type=click.IntRange(1, 5), default=None,
              help="The first N of the shared 5 folds (default: the profile's tuning folds).")
@click.option("--ensembles", default=DEFAULT_ENSEMBLES, show_default=True,
              help="Comma-separated ensembles: arch, arch*seeds, or archs joined by +; "
                   "'' for none.")
def main(data, runs_dir, out_dir, base_seed, threads, profile, with_options, only, fold_count,
         ensembles) -> None:
    """Train or reuse each option's and ensemble's runs on the shared folds; write the table."""
    from solution.baselines.options import (
        measure_ensembles,
        measure_options,
        parse_ensembles,
        select_options,
        write_tables,
    )
    from solution.baselines.table import scope_text
    from solution.data.competition import load_competition
    from solution.profiles import get_profile
    from solution.submit import subset
    from solution.training.fit import configure_tensorflow

    def work() -> list[Path]:
        chosen = get_profile(profile)
        wanted = parse_ensembles(ensembles) if ensembles.strip() else []
        options = select_options(only)
        full = load_competition(data)
        configure_tensorflow(threads)
        comp = subset(full, chosen.max_train_rows)
        folds = list(range(fold_count or chosen.tune_folds))
        runs = Path(runs_dir)
        measured_options = measure_options(comp, chosen, folds, runs, base_seed, log,
                                           options) if with_options else []
        measured = measure_ensembles(comp, chosen, folds, wanted, runs, base_seed, log)
        scope = scope_text(chosen, len(comp.train_labels), len(full.train_labels), folds)
        return write_tables(measured_options, measured, scope, chosen,
                            Path(out_dir) if out_dir else runs / "baselines")

    for path in guarded(work):
        click.echo(path.read_text())
        click.echo(f"table: {path} (+ .json)")


if __name__ == "__main__":
    main()
