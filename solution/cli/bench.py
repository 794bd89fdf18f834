"""`solution bench ...`: the benchmarks, each a table measured in one run on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from solution.cli.common import (
    data_option,
    exits,
    log,
    options,
    precision_option,
    run_option,
    runs_dir_option,
    threads_option,
)
from solution.cli.jobs import EDGE_MODELS

out_table_option = click.option("--out", type=click.Path(dir_okay=False), default=None,
                                 help="Also write the markdown table here.")


@click.group()
def bench() -> None:
    """Benchmarks: training throughput, install sizes, the exported edge model."""


@bench.command()
@options(data_option,
         click.option("--steps", type=click.IntRange(5), default=60, show_default=True,
                      help="Batches per timed epoch."),
         click.option("--repeats", type=click.IntRange(1), default=3, show_default=True),
         click.option("--batch-size", type=click.IntRange(8), default=128, show_default=True),
         threads_option, precision_option, out_table_option)
def train(data, steps, repeats, batch_size, threads, precision, out) -> None:
    """Training throughput (images/s): our tf.data pipeline against Keras augmentation layers,
    our fused batch normalisation against Keras' own."""
    from solution.bench.train import measure, pipeline_only_rate, throughput_table
    from solution.config import Config
    from solution.data.competition import load_competition
    from solution.profiles import get_profile
    from solution.reporting.tables import emit_table
    from solution.training.fit import configure_tensorflow

    with exits():
        comp = load_competition(data)
        chosen = configure_tensorflow(threads, precision)
        cfg = get_profile("default").apply(Config()).replace(batch_size=batch_size)
        result = measure(comp.train_images, comp.train_labels, cfg, steps, repeats)
        feed = pipeline_only_rate(comp.train_images, comp.train_labels, cfg)
        emit_table(throughput_table(batch_size, chosen, result, feed).markdown(), out)


@bench.command()
@options(click.option("--edge-venv", type=click.Path(file_okay=False), default=".venv-edge",
                      show_default=True),
         click.option("--train-venv", type=click.Path(file_okay=False), default=".venv",
                      show_default=True),
         out_table_option)
def env(edge_venv: str, train_venv: str, out: str | None) -> None:
    """Installed size of the edge environment against the training environment."""
    from solution.bench.env import installed_sizes
    from solution.reporting.tables import emit_table

    with exits():
        emit_table(installed_sizes(Path(edge_venv), Path(train_venv)).markdown(), out)


@bench.command()
@options(run_option, runs_dir_option,
         click.option("--out", "models_dir", type=click.Path(file_okay=False),
                      default=str(EDGE_MODELS), show_default=True,
                      help="Models folder the export wrote."),
         click.option("--against", type=click.Path(exists=True, file_okay=False), default=None,
                      help="Another models folder (e.g. the bundle before this export) whose "
                           "int8 model is timed in the same run, for the speed-up ratio."))
def edge(run_path, runs_dir, models_dir, against) -> None:
    """Keras, ORT fp32, ORT int8 and LiteRT int8 of the exported ensemble on one thread."""
    from export.bench import benchmark
    from solution.runfolder import RunFolder

    with exits():
        run = RunFolder.chosen(run_path, runs_dir)
        table, _ = benchmark(run.path, Path(models_dir), log=log,
                             against=Path(against) if against else None)
    click.echo(table)


def _width_sets(_ctx, param, values: tuple[str, ...]) -> list[tuple[int, ...]]:
    sets = [value.split("/") for value in values]
    if not all(w.isdigit() and int(w) > 0 for widths in sets for w in widths):
        raise click.BadParameter(f"{', '.join(values)}: give positive conv widths as "
                                 "16/16/16/48/48/48/128", param=param)
    return [tuple(int(w) for w in widths) for widths in sets]


@bench.command()
@options(click.option("--profile", type=click.Choice(["default", "quick", "full", "smoke"]),
                      default="default", show_default=True,
                      help="Whose network: the profile's configuration."),
         click.option("--widths", "extra", multiple=True, callback=_width_sets,
                      help="Also time these conv widths (repeatable), e.g. 20/20/20/40/40/40/112."),
         click.option("--rounds", type=click.IntRange(1), default=5, show_default=True,
                      help="Turns each width set takes (the median is reported)."),
         out_table_option)
def widths(profile: str, extra, rounds: int, out: str | None) -> None:
    """int8 time of one member at the export's pruning rungs (and given widths), one thread."""
    from export.settings import ExportSettings
    from export.width_bench import candidate_widths, time_widths, timing_table
    from solution.config import Config
    from solution.profiles import PROFILES
    from solution.reporting.tables import emit_table

    with exits():
        cfg = PROFILES[profile].apply(Config())
        for given in extra:
            if len(given) != cfg.conv_layers:
                raise click.BadParameter(f"{'/'.join(map(str, given))}: the {profile} network "
                                         f"has {cfg.conv_layers} conv layers",
                                         param_hint="--widths")
        candidates = candidate_widths(cfg, ExportSettings(), extra)
        emit_table(timing_table(time_widths(cfg, candidates, rounds)).markdown(), out)


@bench.command()
@options(run_option, runs_dir_option,
         click.option("--data", default=None, help="Kaggle zip or folder (default: the run's "
                                                   "source)."),
         click.option("--model", default="int8", show_default=True,
                      help="Edge model: int8, fp32, or a path to an .onnx / models folder."))
def agreement(run_path, runs_dir, data, model) -> None:
    """How far the edge model's test answers can be from the Keras ensemble's."""
    from solution.bench.edge_agreement import edge_agreement
    from solution.runfolder import RunFolder

    with exits():
        figures = edge_agreement(RunFolder.chosen(run_path, runs_dir), data, model)
    click.echo(f"edge {model} vs Keras ensemble on {figures['images']} test images: agreement "
               f"{figures['agreement']:.5f}, so accuracies differ by at most "
               f"{figures['max_accuracy_gap_pp']:.3f} pp")


def _rates(_ctx, _param, value: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        rates = ()
    if not rates or min(rates) <= 0:
        raise click.BadParameter(f"{value!r}: give learning rates > 0 joined by commas, "
                                 "e.g. 1e-4,4e-4")
    return rates


def _ema_momentum(_ctx, _param, value: float) -> float:
    from solution.config import Config

    try:  # Config.ema_momentum's own check, before hours of screening reach the EMA stage
        Config(ema_momentum=value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@bench.command()
@options(run_option, runs_dir_option, data_option, threads_option, precision_option,
         click.option("--clean-lr", "clean_rates", default="1e-4", show_default=True,
                      callback=_rates, help="Learning rates of the clean epoch, joined by commas."),
         click.option("--teacher-seeds", type=click.IntRange(1), default=2, show_default=True,
                      help="The student's teacher: the average of the fold's first N members."),
         click.option("--distil-epochs", type=click.IntRange(1), default=8, show_default=True,
                      help="Epochs of the student's distillation round (the default profile's "
                           "second round)."),
         click.option("--student-ema", type=float, default=0.999, show_default=True,
                      callback=_ema_momentum,
                      help="Seed 0's student again, saving this EMA of its weights (0: not)."),
         out_table_option)
def levers(run_path, runs_dir, data, threads, precision, clean_rates, teacher_seeds,
           distil_epochs, student_ema, out) -> None:
    """Issue 21's late-stage levers (a clean epoch, seed 0 or every seed distilled from the
    fold's first members) on all 5 folds, trained on a one-round run's stored members."""
    from solution.bench.levers import Screen, screen_levers, screen_table
    from solution.data.competition import load_competition
    from solution.reporting.tables import emit_table
    from solution.runfolder import RunFolder
    from solution.training.fit import configure_tensorflow

    with exits():
        run = RunFolder.chosen(run_path, runs_dir)
        comp = load_competition(data)
        configure_tensorflow(threads, precision)
        screen = Screen(clean_rates, teacher_seeds, distil_epochs, student_ema)
        rows = screen_levers(run, comp, screen, log=log)
        emit_table(screen_table(rows).markdown(), out)
