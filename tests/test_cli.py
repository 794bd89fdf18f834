"""The one command line: every job is a subcommand, and every user mistake is one line with the
exit code `solution.cli.common.exits` maps it to."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from solution.cli import main
from solution.cli.common import OneLineErrors, exits
from solution.data.competition import DataError
from solution.errors import Refused

JOBS = {"submit", "tune", "study", "dashboard", "report", "export", "requantize", "bench",
        "baselines", "options", "demo"}


def test_every_job_is_a_subcommand():
    assert set(main.commands) == JOBS
    assert set(main.commands["bench"].commands) == {"train", "env", "edge", "widths", "agreement",
                                                  "levers"}
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and all(job in result.output for job in JOBS)


@pytest.mark.parametrize(("raised", "code", "line"), [
    (DataError("train.csv: line 3, column pixel7: not a whole number"), 2,
     "error: train.csv: line 3, column pixel7: not a whole number"),
    (ValueError("config field width=0: must be >= 1"), 2,
     "error: config field width=0: must be >= 1"),
    (Refused("check failed: int8 agreement = 0.9 (limit 0.998)"), 1,
     "error: check failed: int8 agreement = 0.9 (limit 0.998)"),
    (KeyboardInterrupt(), 130, "error: interrupted; finished folds are kept"),
])
def test_user_errors_are_one_line_and_their_exit_code(raised, code, line):
    @click.group(cls=OneLineErrors)
    def group() -> None:
        pass

    @group.command()
    def job() -> None:
        with exits("interrupted; finished folds are kept"):
            raise raised

    result = CliRunner().invoke(group, ["job"])
    assert result.exit_code == code
    assert result.output.strip().splitlines() == [line]


def test_a_program_error_is_not_hidden():
    @click.command()
    def job() -> None:
        with exits():
            raise RuntimeError("a bug, not a user mistake")

    result = CliRunner().invoke(job, [])
    assert isinstance(result.exception, RuntimeError)


def test_click_usage_errors_are_one_line_too(tmp_path):
    for args, words in ((["submit", "--profile", "huge"], "'--profile'"),
                        (["tune", "--folds", "9"], "'--folds'"),
                        (["export", "--no-such-flag"], "--no-such-flag"),
                        (["report", "--runs-dir", str(tmp_path)], "LATEST: no finished run yet")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
