"""The pipeline's jobs as subcommands: `submit`, `report`, `export`, `demo`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from export.settings import FINETUNE_TARGETS, ExportSettings
from solution.cli.common import (
    NameList,
    data_option,
    exits,
    log,
    options,
    precision_option,
    profile_option,
    run_option,
    runs_dir_option,
    seed_option,
    studies_dir_option,
    threads_option,
)
from solution.config import ARCHS

MODELS = NameList(ARCHS, aliases={"default": "cnn"})
EDGE_MODELS = Path("edge/digit_edge/models")


@click.command()
@options(data_option,
         click.option("--train-csv", type=click.Path(), default=None,
                      help="Explicit train.csv path."),
         click.option("--test-csv", type=click.Path(), default=None,
                      help="Explicit test.csv path."),
         click.option("--sample-csv", type=click.Path(), default=None,
                      help="Explicit sample_submission.csv path (checked against when given)."),
         profile_option(),
         click.option("--config", "config_file", type=click.Path(), default=None,
                      help="JSON configuration (or a tuning best.json) instead of the "
                           "tuned/default one."),
         runs_dir_option,
         click.option("--out", "submission_path", type=click.Path(dir_okay=False),
                      default="submissions/submission.csv", show_default=True),
         studies_dir_option, seed_option,
         click.option("--models", type=MODELS, default=None,
                      help="Architectures to ensemble, each with its own fold models, e.g. "
                           "default,m5,m7 (default: the configuration's own arch)."),
         threads_option, precision_option)
def submit(data, train_csv, test_csv, sample_csv, profile, config_file, runs_dir,
           submission_path, studies_dir, base_seed, models, threads, precision) -> None:
    """Train the fold models (reusing finished ones) and write submission.csv."""
    from solution.data.competition import load_competition
    from solution.ensemble import submit_models
    from solution.profiles import get_profile
    from solution.submit import resolve_config
    from solution.training.fit import configure_tensorflow

    with exits("interrupted; finished fold models are kept, run the same command to resume"):
        chosen = get_profile(profile)
        resolved = resolve_config(chosen, config_file, studies_dir)
        comp = load_competition(data, train_csv=train_csv, test_csv=test_csv,
                                sample_csv=sample_csv)
        configure_tensorflow(threads, precision)
        info = submit_models(comp, chosen, resolved, models or (resolved.config.arch,),
                             runs_dir=Path(runs_dir), submission_path=Path(submission_path),
                             base_seed=base_seed, log=log, studies_dir=Path(studies_dir))
    folds = "  ".join(f"{float(v):.5f}" for v in info["fold_accuracies"].values())
    click.echo(f"fold accuracies: {folds}")
    for entry in info.get("architectures", []):
        click.echo(f"  {entry['arch']}: CV accuracy {entry['cv_accuracy']:.5f}")
    click.echo(f"5-fold CV accuracy: {info['cv_accuracy']:.5f} "
               f"({info['data']['train_rows']} rows, {info['timings']['wall_seconds']:.0f}s)")
    for row in info.get("members_per_fold", []):
        click.echo(f"  first {row['members_per_fold']} member(s) of each fold: OOF "
                   f"{row['accuracy']:.5f} ({row['errors']} wrong, "
                   f"{row['train_seconds']:.0f}s of training)")
    before = info.get("before_clean_epochs")
    if before:
        click.echo(f"  before the clean epochs: OOF {before['accuracy']:.5f} "
                   f"({before['errors']} wrong)")
    click.echo(f"run folder: {Path(runs_dir) / info['run_id']}")
    click.echo(f"submission: {submission_path}")


@click.command()
@options(run_option, runs_dir_option,
         click.option("--studies-dir", type=click.Path(file_okay=False),
                      default="optuna_studies", show_default=True,
                      help="Tuning plots found here are linked from report.html."))
def report(run_path, runs_dir, studies_dir) -> None:
    """Re-make the report files (PNGs, report.html) of a finished run."""
    from solution.reporting.run_report import write_report
    from solution.runfolder import RunFolder

    with exits():
        run = RunFolder.chosen(run_path, runs_dir)
        metrics = write_report(run, Path(studies_dir))
    click.echo(metrics["classification_text"])
    click.echo(f"OOF accuracy {metrics['accuracy']:.5f}; report: {run.report_html}")


def _members_per_fold(_ctx, _param, value: str) -> int | None:
    """`--members-per-fold`: a whole number >= 1, or `all`."""
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r}: write a whole number >= 1, or all")
    return int(value)


@click.command()
@options(run_option, runs_dir_option,
         click.option("--data", default=None, metavar="PATH",
                      help="Competition data, if not where run.json says it came from."),
         click.option("--out", "out_dir", type=click.Path(file_okay=False),
                      default=str(EDGE_MODELS), show_default=True,
                      help="Models folder to publish into."),
         click.option("--no-prune", is_flag=True, help="Export the members as trained."),
         click.option("--members-per-fold", default="1", show_default=True, metavar="N|all",
                      callback=_members_per_fold,
                      help="Seeds of each fold published (the first ones): the edge's speed "
                           "is its member count."),
         click.option("--finetune-epochs", type=click.IntRange(1), default=None,
                      help="Fine-tune epochs after pruning (default: ExportSettings')."),
         click.option("--finetune-on", "finetune_targets",
                      default=ExportSettings.finetune_targets, show_default=True,
                      type=click.Choice(FINETUNE_TARGETS),
                      help="Fine-tune a pruned copy towards the unpruned member's own "
                           "probabilities or towards the true labels."),
         click.option("--no-slower-than", "reference", default=None,
                      type=click.Path(exists=True, file_okay=False),
                      help="A published models folder: fine-tune every member at every pruning "
                           "rung and export the combination that reads the most OOF images "
                           "right within that package's int8 time."),
         click.option("--threads", type=click.IntRange(1), default=None,
                      help="Bound TensorFlow's and onnxruntime's CPU threads (default: all)."))
def export(run_path, runs_dir, data, out_dir, no_prune, members_per_fold, finetune_epochs,
           finetune_targets, reference, threads) -> None:
    """Prune, convert, quantize and check a run's fold models; publish them into the edge
    package's models folder only if every check passes."""
    from export.pipeline import export_run
    from solution.runfolder import RunFolder
    from solution.training.fit import configure_tensorflow

    settings = ExportSettings(prune=not no_prune, threads=threads,
                              members_per_fold=members_per_fold,
                              finetune_targets=finetune_targets, no_slower_than=reference)
    if finetune_epochs:
        settings = settings.replace(finetune_epochs=finetune_epochs)
    with exits(f"interrupted; {out_dir} left as it was"):
        run = RunFolder.chosen(run_path, runs_dir)
        configure_tensorflow(threads)
        result = export_run(run.path, Path(out_dir), data=data, settings=settings,
                            command=" ".join(["solution", *sys.argv[1:]]), log=log)
    click.echo(result.table_path.read_text())
    click.echo(f"table: {result.table_path} (and export.json)")


@click.command()
@click.option("--models", "models_dir", type=click.Path(file_okay=False),
              default=str(EDGE_MODELS), show_default=True,
              help="Published edge models folder whose int8 graph is made again.")
@click.option("--data", default=None, metavar="PATH",
              help="The training data of the package's run (zip or folder).")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Bound onnxruntime's CPU threads (default: all).")
def requantize(models_dir, data, threads) -> None:
    """Quantize a published package's fp32 graph again with today's quantizer; publish the int8
    graph only if it passes the export's checks, judged out of fold against the fp32 graph."""
    from export.requantize import requantize_package

    with exits(f"interrupted; {models_dir} left as it was"):
        result = requantize_package(Path(models_dir), data,
                                    ExportSettings(threads=threads),
                                    command=" ".join(["solution", *sys.argv[1:]]), log=log)
    for name, figures in (("before", result.before), ("after", result.after)):
        click.echo(f"{name:6s} int8 OOF {figures['int8_oof']:.5f}, "
                   f"{figures['images_per_s']:,.0f} images/s at batch 256, "
                   f"{figures['single_ms']:.3f} ms for one image (one thread, taking turns)")
    for check in result.checks:
        click.echo(f"  {'ok  ' if check.passed else 'FAIL'} {check.name}: {check.value:.6g} "
                   f"(limit {check.limit:g})")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo",
              show_default=True, help="Folder for everything the demo makes.")
@click.option("--trials", type=click.IntRange(1), default=3, show_default=True,
              help="Finished tuning trials the demo study should reach.")
def demo(out_dir: str, trials: int) -> None:
    """The offline demo on scikit-learn's digits: tune -> submit -> export -> edge."""
    from solution.demo import run_demo

    with exits():
        run_demo(Path(out_dir), trials)
