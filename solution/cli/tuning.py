"""The tuning subcommands: `tune`, `study`, `dashboard`, all on one study named by the same
options."""

from __future__ import annotations

from pathlib import Path

import click

from solution.cli.common import (
    NameList,
    data_option,
    exits,
    fail,
    log,
    options,
    precision_option,
    runs_dir_option,
    studies_dir_option,
)
from solution.config import ARCHS
from solution.training.folds import N_FOLDS

study_options = options(
    click.option("--profile", default="default", show_default=True,
                 help="smoke (seconds), quick (an hour here), default, full."),
    click.option("--study", "study_name", default=None, metavar="NAME",
                 help="Study name (default: the profile's name, which `submit` looks for)."),
    studies_dir_option,
    click.option("--storage", default=None, metavar="URL|FILE",
                 help="postgresql://user@host/db (or mysql://) shared by many machines, or a "
                      "journal file; default: STUDIES_DIR/STUDY/journal.log."),
)


def _spec(profile: str, study_name: str | None, studies_dir: str, storage: str | None,
          heartbeat: int = 60):
    """The study the options name; checks the profile and the name first (one-line errors)."""
    from solution.profiles import get_profile
    from solution.tuning.studies import StudySpec, check_study_name

    get_profile(profile)
    return StudySpec(check_study_name(study_name or profile), Path(studies_dir), storage or None,
                     heartbeat)


@click.command()
@options(data_option, study_options,
         click.option("--trials", type=click.IntRange(1), default=20, show_default=True,
                      help="Run until the study has this many finished (complete or pruned) "
                           "trials."),
         click.option("--timeout", default=None, metavar="DURATION",
                      help="Start no new trial after this long (6h, 30m, 1h30m); running ones "
                           "finish."),
         click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
                      help="Worker processes on this machine, TensorFlow threads split between "
                           "them."),
         click.option("--threads", type=click.IntRange(1), default=None,
                      help="TensorFlow threads per worker (default: cores / workers)."),
         precision_option,
         click.option("--folds", type=click.IntRange(1, N_FOLDS), default=None,
                      help=f"Folds per trial, the first k of the shared {N_FOLDS} "
                           "(default: the profile's)."),
         runs_dir_option,
         click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed."),
         click.option("--archs", type=NameList(ARCHS), default="cnn", show_default=True,
                      help="Architectures a trial may choose among, e.g. cnn,m5,m7 (fixed per "
                           "study)."),
         click.option("--heartbeat", type=click.IntRange(1), default=60, show_default=True,
                      help="Seconds between heartbeats of database (RDB) workers."))
def tune(data, profile, study_name, studies_dir, storage, trials, timeout, workers, threads,
         precision, folds, runs_dir, seed, archs, heartbeat) -> None:
    """Tune the configuration with Optuna; running it again continues the study."""
    from solution.tuning.tune import TuneRequest, parse_duration
    from solution.tuning.tune import tune as run_tune

    with exits("interrupted: the running trial is marked failed, finished trials are kept; "
               "run the same command to continue"):
        spec = _spec(profile, study_name, studies_dir, storage, heartbeat)
        request = TuneRequest(spec, profile, data, Path(runs_dir), trials,
                              parse_duration(timeout) if timeout else None, workers, threads,
                              folds, seed, archs, precision)
        result = run_tune(request, log=log)
    click.echo(f"study {spec.name}: {result.finished} finished trials ({result.complete} "
               f"complete, {result.pruned} pruned), {result.failed} failed")
    best = result.best
    if best is None:
        click.echo("no complete trial yet")
        return
    default = best.get("default_trial") or {}
    default_text = (f"; default (trial {default['trial']}): {default['cv_accuracy']:.5f}"
                    if default else "")
    click.echo(f"best: trial {best['trial']}, CV {best['cv_accuracy']:.5f} on "
               f"{len(best['folds'])} of {N_FOLDS} folds{default_text}")
    click.echo(f"best configuration: {spec.folder / 'best.json'}")


@click.command()
@study_options
def study(profile, study_name, studies_dir, storage) -> None:
    """Print the best trial and a trial table; write plots and best.json beside the study."""
    from solution.tuning.studies import best_summary, load_existing, write_best
    from solution.tuning.summary import compute_summary, trial_table, write_plots

    with exits():
        spec = _spec(profile, study_name, studies_dir, storage)
        loaded = load_existing(spec)
        click.echo(trial_table(loaded))
        click.echo(compute_summary(loaded).text())
        best = best_summary(loaded, spec)
        if best is None:
            click.echo("no complete trial yet")
        else:
            write_best(loaded, spec)
            folds = best.get("folds") or []
            click.echo(f"best: trial {best['trial']}, CV {best['cv_accuracy']:.5f} on "
                       f"{len(folds)} of {N_FOLDS} folds; params {best['params']}")
            click.echo(f"best configuration: {spec.folder / 'best.json'}")
        written, skipped = write_plots(loaded, spec.folder)
    for reason in skipped:
        log(f"plot skipped: {reason}")
    click.echo("plots: " + (", ".join(str(p) for p in written) or "none yet"))


@click.command()
@study_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
def dashboard(profile, study_name, studies_dir, storage, host, port) -> None:
    """Serve optuna-dashboard on the study's storage (needs the `dashboard` extra)."""
    try:
        import optuna_dashboard
    except ImportError:
        fail("optuna-dashboard is not installed: pip install -e '.[dashboard]' "
             "(`make dashboard` installs it)")
    from solution.tuning.studies import load_existing, open_storage

    with exits():
        spec = _spec(profile, study_name, studies_dir, storage)
        load_existing(spec)
        opened = open_storage(spec)
    log(f"optuna-dashboard on http://{host}:{port} for {spec.describe()} (Ctrl-C stops it)")
    optuna_dashboard.run_server(opened, host=host, port=port)
