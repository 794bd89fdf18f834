"""What the two table commands (`solution.baselines`, `...options_cli`) share: options, errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click

from solution.data.competition import DataError

T = TypeVar("T")


def shared_options(function):
    """--data, --runs-dir, --out-dir, --seed and --threads, as both table commands take them."""
    for option in reversed((
        click.option("--data", default=None, metavar="PATH",
                     help="Kaggle zip or folder with train.csv/test.csv (default: data/)."),
        click.option("--runs-dir", type=click.Path(file_okay=False), default="runs",
                     show_default=True),
        click.option("--out-dir", type=click.Path(file_okay=False), default=None,
                     help="Where the table's .md/.json go (default: <runs-dir>/baselines)."),
        click.option("--seed", "base_seed", type=int, default=0, show_default=True),
        click.option("--threads", type=click.IntRange(1), default=None,
                     help="Bound TensorFlow's CPU threads (default: all cores)."),
    )):
        function = option(function)
    return function


def log(message: str) -> None:
    click.echo(message, err=True)


def guarded(work: Callable[[], T]) -> T:
    """Run `work`; a user mistake is one line and exit 2, Ctrl-C exit 130 (folds are kept)."""
    try:
        return work()
    except (DataError, ValueError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("error: interrupted; finished folds are kept, run again to resume", err=True)
        sys.exit(130)
