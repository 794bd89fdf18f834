"""What every `solution` subcommand shares: its options, its log, and the one mapping from a
user's mistake to a one-line message and an exit code.

A command parses its options, calls one function inside `with exits(...)`, and prints the result.
Errors subclassing `solution.errors.UserError` exit 2 (`Refused`: 1), and so do the ValueErrors and
FileNotFoundErrors that validation raises with a one-line message (a Config field out of range, a
missing --config file); Ctrl-C exits 130 with a line saying what was kept.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from solution.errors import Refused, UserError
from solution.profiles import PROFILES
from solution.training.precision import PRECISIONS

EXIT_USAGE = 2
EXIT_REFUSED = 1
EXIT_INTERRUPTED = 130
USAGE_ERRORS = (UserError, ValueError, FileNotFoundError)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def log(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the command's result."""
    click.echo(message, err=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def exits(interrupted: str = "interrupted") -> Iterator[None]:
    """Turn a user's mistake into `error: <one line>` and its exit code; `interrupted` says what
    a Ctrl-C leaves behind."""
    try:
        yield
    except Refused as exc:
        fail(str(exc), EXIT_REFUSED)
    except USAGE_ERRORS as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail(interrupted, EXIT_INTERRUPTED)


class OneLineErrors(click.Group):
    """The `solution` group: click's own usage errors (an unknown option, a value out of range)
    are one `error:` line and exit 2 too, instead of a usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False  # let usage errors reach us instead of click's printer
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("interrupted", EXIT_INTERRUPTED)
        if isinstance(code, int) and code:  # `--help` and friends return their exit code
            sys.exit(code)
        return code


def options(*decorators: Decorator) -> Decorator:
    """Several click options as one decorator, applied in the order they are listed."""

    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


data_option = click.option(
    "--data", "data", default=None, metavar="PATH",
    help="Kaggle zip or folder with train.csv/test.csv (default: data/, then "
         "/kaggle/input/digit-recognizer).")
threads_option = click.option("--threads", type=click.IntRange(1), default=None,
                              help="Bound TensorFlow's CPU threads (default: all cores).")
precision_option = click.option(
    "--precision", type=click.Choice(list(PRECISIONS)), default="auto",
    show_default=True,
    help="Training precision; auto = bfloat16 where the CPU reports AMX or AVX512-BF16 (faster "
         "there), else float32. A run's folder and run.json say which.")
runs_dir_option = click.option("--runs-dir", type=click.Path(file_okay=False), default="runs",
                               show_default=True, help="Where run folders live.")
run_option = click.option("--run", "run_path", type=click.Path(file_okay=False), default=None,
                          help="Run folder (default: the one runs/LATEST names).")
seed_option = click.option("--seed", "base_seed", type=int, default=0, show_default=True,
                           help="Base seed of the trained members.")
studies_dir_option = click.option(
    "--studies-dir", type=click.Path(file_okay=False), default="optuna_studies",
    show_default=True, help="Study folders: journal, best.json, plots.")


def profile_option(default: str = "default") -> Decorator:
    return click.option(
        "--profile", type=click.Choice(list(PROFILES)), default=default, show_default=True,
        help="Compute budget: smoke (seconds), quick (an hour here), default (this 2-core CPU), "
             "full (GPU/night).")


class NameList(click.ParamType):
    """A comma-separated list of names from a fixed set, e.g. `--models cnn,m5`: unknown or
    repeated names are a usage error naming the option; `aliases` map user words to names."""

    name = "names"

    def __init__(self, choices: tuple[str, ...], aliases: Mapping[str, str] | None = None,
                 allow_empty: bool = False) -> None:
        self.choices = choices
        self.aliases = dict(aliases or {})
        self.allow_empty = allow_empty

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(self.aliases.get(n.strip(), n.strip())
                      for n in str(value).split(",") if n.strip())
        known = ", ".join([*self.aliases, *self.choices])
        unknown = [n for n in names if n not in self.choices]
        if unknown:
            self.fail(f"unknown name {unknown[0]!r} in {value!r}; choose from {known}", param,
                      ctx)
        if len(set(names)) != len(names):
            self.fail(f"{value!r} names something twice", param, ctx)
        if not names and not self.allow_empty:
            self.fail(f"{value!r}: name at least one of {known}", param, ctx)
        return names

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "NAME[,NAME...]"
