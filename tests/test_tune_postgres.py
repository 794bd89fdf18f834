"""The same study against a real PostgreSQL server that the test starts itself.

initdb + pg_ctl in a temporary folder, on a free port of 127.0.0.1, trust authentication, stopped
at the end. Needs the server binaries (Debian's `postgresql` package; .ci/run installs it) and
psycopg2; skipped with the reason where they are absent. As root (CI containers), the server runs
as the `postgres` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from optuna.trial import TrialState
from tune_support import (
    SMOKE_BASE,
    run_cli,
    start_cli,
    states,
    tune_args,
    wait_for,
)

from solution.profiles import get_profile
from solution.submit import resolve_config
from solution.tuning.search_space import config_from_params
from solution.tuning.studies import StudySpec, open_storage

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _server_bin() -> Path | None:
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install -e '.[dev]')")
    bin_dir = _server_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
                    "apt-get install postgresql")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
    root = Path(tempfile.mkdtemp(prefix="tune-pg-"))
    if user:
        os.chown(root, user.pw_uid, user.pw_gid)
    port = _free_port()
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120,
                       user=user.pw_uid if user else None, group=user.pw_gid if user else None)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "optuna", "--auth=trust", "-E", "UTF8",
        "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql://optuna@127.0.0.1:{port}/postgres"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_study_two_workers_one_killed_and_best_json(tmp_path, small_zip,
                                                            postgres_url):
    studies, runs = tmp_path / "studies", tmp_path / "runs"
    spec = StudySpec("smoke", studies, postgres_url)

    def load():
        import optuna

        return optuna.load_study(study_name="smoke", storage=open_storage(spec))

    def child_running_a_trial(parent: int):
        try:
            study = load()
        except KeyError:
            return None
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            pid = trial.user_attrs.get("worker", {}).get("pid")
            if pid not in (None, parent) and "run_id" in trial.user_attrs:
                return pid
        return None

    # the schema first: this test's own polling must not race tune's first CREATE TABLE
    # (PostgreSQL refuses one of two concurrent creations of the same table)
    open_storage(spec)
    # two worker processes on one database study; one of them is killed in its first trial:
    # its heartbeat stops, the other worker fails that trial and carries the study on
    tune = start_cli(*tune_args(small_zip, studies, runs, "--storage", postgres_url, "--folds",
                                "1", "--heartbeat", "1", "--trials", "3", "--workers", "2"))
    victim = wait_for(lambda: child_running_a_trial(tune.pid), what="a worker's running trial")
    os.kill(victim, signal.SIGKILL)
    output, _ = tune.communicate(timeout=400)
    assert tune.returncode == 2, output
    assert output.strip().splitlines()[-1].startswith(
        "error: worker(s) stopped with an error: tune-worker-"), output
    assert "exit code -9" in output
    study = load()
    trials = study.get_trials()
    assert sorted(states(study)) == ["COMPLETE", "COMPLETE", "COMPLETE", "FAIL"]
    killed = [t for t in trials if t.state == TrialState.FAIL]
    assert killed[0].user_attrs["worker"]["pid"] == victim
    assert postgres_url.replace("postgresql://", "") in output  # storage shown, no password

    # best.json beside the study, round-tripping into what submit trains
    best = json.loads((studies / "smoke" / "best.json").read_text())
    assert (best["trial"], best["cv_accuracy"]) == (study.best_trial.number, study.best_value)
    assert best["storage"].startswith("postgresql://optuna@127.0.0.1")
    resolved = resolve_config(get_profile("smoke"), studies_dir=studies)
    assert resolved.config == config_from_params(study.best_params, SMOKE_BASE)

    # a second tune adds to the same database study
    result = run_cli(*tune_args(small_zip, studies, runs, "--storage", postgres_url, "--folds",
                                "1", "--trials", "4"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(states(load())) == ["COMPLETE"] * 4 + ["FAIL"]
