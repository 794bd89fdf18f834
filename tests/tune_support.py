"""Helpers shared by the tuning tests: run `python -m solution` the way a user does, watch a study.

Trials use the smoke profile on the 400-row `small_zip` with `--folds 1` or `--folds 2`, so one
trial trains one or two width-8 nets for an epoch or two on 320 images.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from solution.profiles import get_profile
from solution.tuning.search_space import default_params
from solution.tuning.tune import base_config

REPO = Path(__file__).resolve().parents[1]
SMOKE_BASE = base_config(get_profile("smoke"))
# Learns something in 2 epochs on 320 images (about 40% on a fold, where the defaults stay at
# chance): the yardstick that makes a bad trial stand out to the pruner.
GOOD = {**default_params(SMOKE_BASE), "learning_rate": 3e-3, "batch_size": 16, "dropout": 0.1,
        "rotation": 0.0, "zoom": 0.0, "shift": 0.0, "epochs": 2}
# Deliberately bad: the smallest learning rate, the most dropout and augmentation, one epoch of
# five steps on a width-4 net: chance level.
BAD = {**default_params(SMOKE_BASE), "width": 4, "convs_per_stage": 1, "learning_rate": 3e-4,
       "dropout": 0.5, "batch_size": 64, "rotation": 15.0, "zoom": 0.2, "shift": 0.2,
       "epochs": 1}


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def solution_args(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "solution", *map(str, args)]


def run_cli(*args: str | Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(solution_args(*args), cwd=REPO, env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)


def start_cli(*args: str | Path) -> subprocess.Popen:
    """A background `solution` process that reacts to Ctrl-C (SIGINT) like one in a terminal.

    Shells start background jobs with SIGINT ignored and children inherit that, so the default
    disposition is restored for the child (Python then installs its KeyboardInterrupt handler).
    """
    return subprocess.Popen(solution_args(*args), cwd=REPO, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tune_args(data: Path, studies: Path, runs: Path, *extra: str | Path) -> list[str | Path]:
    return ["tune", "--profile", "smoke", "--data", data, "--studies-dir", studies,
            "--runs-dir", runs, *extra]


def wait_for(condition: Callable[[], Any], timeout: float = 180, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def running_trial_of(load: Callable[[], optuna.Study], pid: int) -> FrozenTrial | None:
    """The RUNNING trial that process `pid` has started training (it names its worker)."""
    try:
        study = load()
    except (KeyError, OSError, ValueError):  # not created yet
        return None
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker", {}).get("pid") == pid and \
                "run_id" in trial.user_attrs:
            return trial
    return None


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]
