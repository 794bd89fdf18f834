"""`solution tune | study | dashboard`: the tuning commands, registered on `solution.cli.main`.

They live apart from cli.py so the tuning options stay in one place; like every command they
parse, call one function and turn known errors into one-line messages.
"""

from __future__ import annotations

from pathlib import Path

import click

from solution.training.folds import N_FOLDS


def _errors() -> tuple[type[BaseException], ...]:
    from solution.cli import USAGE_ERRORS

    return USAGE_ERRORS


def _fail(message: str, code: int = 2) -> None:
    from solution.cli import fail

    fail(message, code)


def _log(message: str) -> None:
    click.echo(message, err=True)


def _spec(profile: str, study_name: str | None, studies_dir: str, storage: str | None,
          heartbeat: int = 60):
    """The study the options name; checks the profile and the name first (one-line errors)."""
    from solution.profiles import get_profile
    from solution.tuning.studies import StudySpec, check_study_name

    get_profile(profile)
    name = check_study_name(study_name or profile)
    if heartbeat < 1:
        raise ValueError(f"--heartbeat {heartbeat}: must be at least 1 second")
    return StudySpec(name, Path(studies_dir), storage or None, heartbeat)


def study_options(function):
    """--profile, --study, --studies-dir, --storage: which study a command works on."""
    for option in reversed((
        click.option("--profile", default="default", show_default=True,
                     help="smoke (seconds), quick (an hour here), default, full."),
        click.option("--study", "study_name", default=None, metavar="NAME",
                     help="Study name (default: the profile's name, which `submit` looks for)."),
        click.option("--studies-dir", default="optuna_studies", show_default=True,
                     type=click.Path(file_okay=False),
                     help="Study folders: journal, best.json, plots."),
        click.option("--storage", default=None, metavar="URL|FILE",
                     help="postgresql://user@host/db (or mysql://) shared by many machines, or "
                          "a journal file; default: STUDIES_DIR/STUDY/journal.log."),
    )):
        function = option(function)
    return function


@click.command()
@click.option("--data", "data", default=None, metavar="PATH",
              help="Kaggle zip or folder with train.csv/test.csv (default: data/, then "
                   "/kaggle/input/digit-recognizer).")
@study_options
@click.option("--trials", type=int, default=20, show_default=True,
              help="Run until the study has this many finished (complete or pruned) trials.")
@click.option("--timeout", default=None, metavar="DURATION",
              help="Start no new trial after this long (6h, 30m, 1h30m); running ones finish.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes on this machine, TensorFlow threads split between them.")
@click.option("--threads", type=int, default=None,
              help="TensorFlow threads per worker (default: cores / workers).")
@click.option("--folds", type=int, default=None,
              help=f"Folds per trial, the first k of the shared {N_FOLDS} "
                   "(default: the profile's).")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Where trials keep their fold models (submit reuses them).")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed.")
@click.option("--archs", default="cnn", show_default=True,
              help="Architectures a trial may choose among, e.g. cnn,m5,m7 (fixed per study).")
@click.option("--heartbeat", type=int, default=60, show_default=True,
              help="Seconds between heartbeats of database (RDB) workers.")
def tune(data, profile, study_name, studies_dir, storage, trials, timeout, workers, threads,
         folds, runs_dir, seed, archs, heartbeat) -> None:
    """Tune the configuration with Optuna; running it again continues the study."""
    from solution.tuning.search_space import parse_archs
    from solution.tuning.tune import TuneRequest, parse_duration
    from solution.tuning.tune import tune as run_tune

    try:
        spec = _spec(profile, study_name, studies_dir, storage, heartbeat)
        for name, value, low in (("--trials", trials, 1), ("--workers", workers, 1),
                                 ("--threads", threads, 1), ("--folds", folds, 1)):
            if value is not None and value < low:
                raise ValueError(f"{name} {value}: must be at least {low}")
        request = TuneRequest(spec, profile, data, Path(runs_dir), trials,
                              parse_duration(timeout) if timeout else None, workers, threads,
                              folds, seed, parse_archs(archs))
        result = run_tune(request, log=_log)
    except _errors() as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted: the running trial is marked failed, finished trials are kept; "
              "run the same command to continue", 130)
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
    try:
        spec = _spec(profile, study_name, studies_dir, storage)
        loaded = _load(spec)
        from solution.tuning.studies import best_summary, write_best
        from solution.tuning.summary import compute_summary, trial_table, write_plots

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
    except _errors() as exc:
        _fail(str(exc))
    for reason in skipped:
        _log(f"plot skipped: {reason}")
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
        _fail("optuna-dashboard is not installed: pip install -e '.[dashboard]' "
              "(`make dashboard` installs it)")
    try:
        spec = _spec(profile, study_name, studies_dir, storage)
        _load(spec)
        from solution.tuning.studies import open_storage

        opened = open_storage(spec)
    except _errors() as exc:
        _fail(str(exc))
    _log(f"optuna-dashboard on http://{host}:{port} for {spec.describe()} (Ctrl-C stops it)")
    optuna_dashboard.run_server(opened, host=host, port=port)


def _load(spec):
    """The named study; one-line error when it does not exist yet."""
    import optuna

    from solution.tuning.studies import StudyError, open_storage

    path = spec.journal_path
    if path is not None and not path.is_file():
        raise StudyError(f"no study at {path}; run `make tune` (solution tune) first")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=spec.name, storage=open_storage(spec))
    except KeyError:
        raise StudyError(f"no study named {spec.name!r} in {spec.describe()}") from None
