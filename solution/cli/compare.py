"""The comparison tables as subcommands: `baselines` (the zoo and k-NN) and `options` (training
options and ensembles), both on the shared folds."""

from __future__ import annotations

from pathlib import Path

import click

from solution.baselines.balance import OVERSAMPLERS
from solution.baselines.options import DEFAULT_ENSEMBLES, OPTIONS
from solution.baselines.table import DEFAULT_MODELS, MODELS
from solution.cli.common import (
    NameList,
    data_option,
    exits,
    log,
    precision_option,
    profile_option,
    runs_dir_option,
    seed_option,
    threads_option,
)
from solution.cli.common import (
    options as combine,
)

table_options = combine(
    data_option, runs_dir_option,
    click.option("--out-dir", type=click.Path(file_okay=False), default=None,
                 help="Where the table's .md/.json go (default: <runs-dir>/baselines)."),
    seed_option, threads_option, precision_option, profile_option("quick"))
INTERRUPTED = "interrupted; finished folds are kept, run again to resume"


def _competition(data: str | None, profile: str, threads: int | None, precision: str):
    """(profile, the profile's rows of the competition, all training labels)."""
    from solution.data.competition import load_competition, subset
    from solution.profiles import get_profile
    from solution.training.fit import configure_tensorflow

    chosen = get_profile(profile)
    full = load_competition(data)
    configure_tensorflow(threads, precision)
    return chosen, subset(full, chosen.max_train_rows), full.train_labels


@click.command()
@table_options
@click.option("--models", type=NameList(MODELS), default=",".join(DEFAULT_MODELS),
              show_default=True, help=f"Comma-separated, from: {', '.join(MODELS)}.")
@click.option("--oversample", type=NameList(OVERSAMPLERS), default="none", show_default=True,
              help="k-NN training rows: none, random, smote, or a list for one row each.")
def baselines(data, runs_dir, out_dir, base_seed, threads, precision, profile, models,
              oversample) -> None:
    """Train or reuse every chosen model on the shared folds and write the comparison table."""
    from solution.baselines.table import build_table

    with exits(INTERRUPTED):
        chosen, comp, full_labels = _competition(data, profile, threads, precision)
        out = Path(out_dir) if out_dir else Path(runs_dir) / "baselines"
        table = build_table(comp, full_labels, chosen, models, oversample, Path(runs_dir), out,
                            base_seed, log)
    click.echo((out / f"baselines-{chosen.name}.md").read_text())
    click.echo(f"table: {out / f'baselines-{chosen.name}.md'} (+ .json, "
               f"{len(table['rows'])} rows)")


@click.command()
@table_options
@click.option("--options/--no-options", "with_options", default=True, show_default=True,
              help="Measure the training options (label smoothing, EMA, 2x epochs, TTA).")
@click.option("--only", type=NameList(tuple(o.name for o in OPTIONS)), default=None,
              help="Measure only these options (the default CNN is always measured too).")
@click.option("--folds", "fold_count", type=click.IntRange(1, 5), default=None,
              help="The first N of the shared 5 folds (default: the profile's tuning folds).")
@click.option("--ensembles", default=DEFAULT_ENSEMBLES, show_default=True,
              help="Comma-separated ensembles: arch, arch*seeds, or archs joined by +; "
                   "'' for none.")
def options(data, runs_dir, out_dir, base_seed, threads, precision, profile, with_options,
            only, fold_count, ensembles) -> None:
    """Train or reuse each option's and ensemble's runs on the shared folds; write the table."""
    from solution.baselines.options import (
        measure_ensembles,
        measure_options,
        parse_ensembles,
        select_options,
        write_tables,
    )
    from solution.baselines.table import scope_text

    with exits(INTERRUPTED):
        wanted = parse_ensembles(ensembles) if ensembles.strip() else []
        chosen_options = select_options(only)
        chosen, comp, full_labels = _competition(data, profile, threads, precision)
        folds = list(range(fold_count or chosen.tune_folds))
        runs = Path(runs_dir)
        measured_options = measure_options(comp, chosen, folds, runs, base_seed, log,
                                           chosen_options) if with_options else []
        measured = measure_ensembles(comp, chosen, folds, wanted, runs, base_seed, log)
        scope = scope_text(chosen, len(comp.train_labels), len(full_labels), folds)
        written = write_tables(measured_options, measured, scope, chosen,
                               Path(out_dir) if out_dir else runs / "baselines")
    for path in written:
        click.echo(path.read_text())
        click.echo(f"table: {path} (+ .json)")
