"""Where tuning studies live and how they are opened, checked, cleaned up and summarised.

One study per name (by default the profile's name), in one folder:

    optuna_studies/<study>/journal.log   the study itself, unless --storage names a database
    optuna_studies/<study>/best.json     best configuration, CV score, trial number (for submit)
    optuna_studies/<study>/*.png         plots written by `solution study`

The default storage is Optuna's JournalStorage on a file, which several processes on one machine
can share (Optuna advises against SQLite for parallel workers). `--storage` takes an RDB URL
(postgresql://..., mysql://...) so workers on many machines share one study; those run with
Optuna's heartbeat, so a killed worker's trial is failed by the next worker that starts a trial.
The journal has no heartbeat in Optuna 5, so every trial records its worker (host, pid, process
start time) and `fail_stale_trials` fails RUNNING trials whose worker on this host is gone.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from solution.atomic import write_json
from solution.errors import UserError
from solution.training.folds import N_FOLDS

JOURNAL_FILE = "journal.log"
BEST_FILE = "best.json"
DEFAULT_HEARTBEAT = 60  # seconds between RDB heartbeats; a trial is stale after 3 missed ones
UNOWNED_GRACE = timedelta(minutes=5)  # a RUNNING journal trial that never named its worker
RDB_SCHEMES = ("postgresql", "mysql", "sqlite")


class StudyError(UserError, ValueError):
    """A study that cannot be opened or used as asked; the message is one line for the user."""


@dataclass(frozen=True)
class StudySpec:
    """Which study: its name, the folder for its files, and its storage.

    `storage` None = the journal file in the study folder; a URL with :// = an RDB database;
    anything else = the path of a journal file.
    """

    name: str
    studies_dir: Path = Path("optuna_studies")
    storage: str | None = None
    heartbeat: int = DEFAULT_HEARTBEAT

    @property
    def folder(self) -> Path:
        return Path(self.studies_dir) / self.name

    @property
    def is_rdb(self) -> bool:
        return self.storage is not None and "://" in self.storage

    @property
    def journal_path(self) -> Path | None:
        if self.is_rdb:
            return None
        return Path(self.storage) if self.storage else self.folder / JOURNAL_FILE

    def describe(self) -> str:
        """The storage as it may be printed or saved: passwords hidden."""
        if self.is_rdb:
            from sqlalchemy.engine import make_url

            try:
                return make_url(self.storage).render_as_string(hide_password=True)
            except Exception:  # a malformed URL is reported by open_storage
                return "<unparsable URL>"
        return f"journal file {self.journal_path}"


def check_study_name(name: str) -> str:
    """Study names become folder names: letters, digits, '-', '_' and '.' only."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    if not name or name.startswith(".") or set(name) - allowed:
        raise StudyError(f"--study {name!r}: use letters, digits, '-', '_' and '.' only")
    return name


def open_storage(spec: StudySpec) -> optuna.storages.BaseStorage:
    """The study's storage, connected; errors become one-line `StudyError`s."""
    if not spec.is_rdb:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = spec.journal_path
        assert path is not None
        if spec.storage is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise StudyError(f"--storage {spec.storage}: folder {path.parent} does not exist")
        if path.is_dir():
            raise StudyError(f"--storage {path}: is a folder, expected a journal file")
        return JournalStorage(JournalFileBackend(str(path)))
    return _open_rdb(spec)


def _open_rdb(spec: StudySpec) -> optuna.storages.BaseStorage:
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    assert spec.storage is not None
    shown = spec.describe()
    try:
        url = make_url(spec.storage)
    except sqlalchemy.exc.ArgumentError:
        raise StudyError(f"--storage {spec.storage!r}: not a database URL "
                         "(expected e.g. postgresql://user@host/db)") from None
    if url.get_backend_name() not in RDB_SCHEMES:
        raise StudyError(f"--storage {shown}: unsupported database {url.get_backend_name()!r}; "
                         "use postgresql://, mysql:// or a journal file path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                _with_installed_driver(url).render_as_string(hide_password=False),
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=spec.heartbeat, grace_period=3 * spec.heartbeat)
    except ImportError:
        raise StudyError(f"--storage {shown}: the database driver is not installed; "
                         "pip install -e '.[postgres]' (or a MySQL driver)") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StudyError(f"--storage {shown}: cannot connect: {first}") from None


def _with_installed_driver(url: Any) -> Any:
    """postgresql:// means psycopg (3) to SQLAlchemy 2.1; use psycopg2 when only it is here."""
    from importlib.util import find_spec

    if url.drivername == "postgresql" and not find_spec("psycopg") and find_spec("psycopg2"):
        return url.set(drivername="postgresql+psycopg2")
    return url


# --- worker ownership and stale trials -----------------------------------------------------------

def worker_identity() -> dict[str, Any]:
    """What a trial records about the process running it, to tell later whether it died."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _process_start(pid)}


def _process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux); None elsewhere or if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # zombie or dead: exited, not yet reaped
        return None
    return int(fields[19])


def worker_alive(owner: dict[str, Any]) -> bool | None:
    """True/False for a worker on this host; None when it ran elsewhere (cannot tell)."""
    if owner.get("host") != socket.gethostname():
        return None
    pid = int(owner.get("pid", -1))
    if pid <= 0:
        return False
    if Path("/proc").is_dir():
        started = _process_start(pid)
        return started is not None and started == owner.get("started")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_trials(study: optuna.Study) -> list[int]:
    """Fail RUNNING trials whose worker is gone; returns their numbers.

    RDB storages: Optuna's heartbeat check. Journal: trials whose worker process on this host
    has exited, and trials that never named a worker within `UNOWNED_GRACE` of starting.
    """
    storage = study._storage
    if isinstance(storage, optuna.storages.RDBStorage):
        running = {t.number for t in study.get_trials(False, states=(TrialState.RUNNING,))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        still = {t.number for t in study.get_trials(False, states=(TrialState.RUNNING,))}
        return sorted(running - still)
    failed = []
    now = datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get("worker")
        if owner is None:
            started = trial.datetime_start or now
            reason = "its worker never reported" if now - started > UNOWNED_GRACE else None
        else:
            reason = (f"worker pid {owner.get('pid')} on {owner.get('host')} is gone"
                      if worker_alive(owner) is False else None)
        if reason is None:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "failed_because", reason)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        failed.append(trial.number)
    return failed


# --- best.json --------------------------------------------------------------------------------

def finished(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def best_summary(study: optuna.Study, spec: StudySpec) -> dict[str, Any] | None:
    """What best.json holds; None while no trial has completed."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    best = study.best_trial
    attrs = study.user_attrs
    default = next((t for t in complete if t.user_attrs.get("is_default")), None)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {
        "study": spec.name,
        "storage": spec.describe(),
        "profile": attrs.get("profile"),
        "trial": best.number,
        "cv_accuracy": best.value,
        "folds": attrs.get("folds"),
        "n_folds": N_FOLDS,
        "config": best.user_attrs.get("config"),
        "params": best.params,
        "run_id": best.user_attrs.get("run_id"),
        "data": attrs.get("data"),
        "default_trial": (None if default is None else
                          {"trial": default.number, "cv_accuracy": default.value}),
        "trials": {state.name.lower(): states.count(state) for state in TrialState},
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_best(study: optuna.Study, spec: StudySpec) -> Path | None:
    """Write best.json atomically when the study's best trial, or its default trial, differs
    from the file's: with several workers the default trial can finish after a better one."""
    summary = best_summary(study, spec)
    if summary is None:
        return None
    path = spec.folder / BEST_FILE
    current = read_json_or_none(path)
    if current and (current.get("trial"), current.get("cv_accuracy"),
                    current.get("default_trial")) == (
            summary["trial"], summary["cv_accuracy"], summary["default_trial"]):
        return None
    return write_json(path, summary)


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_existing(spec: StudySpec) -> optuna.Study:
    """The named study, which must exist already (`study`, `dashboard` never create one)."""
    path = spec.journal_path
    if path is not None and not path.is_file():
        raise StudyError(f"no study at {path}; run `make tune` (solution tune) first")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=spec.name, storage=open_storage(spec))
    except KeyError:
        raise StudyError(f"no study named {spec.name!r} in {spec.describe()}") from None
