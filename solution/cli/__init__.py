"""`solution` (also `python -m solution`): every job of the project is a subcommand here.

    solution submit | tune | study | dashboard | report | export | requantize | bench ... |
             baselines | options | demo

Each subcommand lives in the module of its stage (`jobs`, `tuning`, `compare`, `bench`) and only
parses, calls one function and prints; options and error exits come from `solution.cli.common`.
"""

from __future__ import annotations

import click

from solution.cli.bench import bench
from solution.cli.common import OneLineErrors
from solution.cli.compare import baselines, options
from solution.cli.jobs import demo, export, report, requantize, submit
from solution.cli.tuning import dashboard, study, tune


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Kaggle Digit Recognizer: augmented CNN ensemble under 5-fold CV, exported to int8 ONNX."""


for _command in (submit, tune, study, dashboard, report, export, requantize, bench, baselines,
                 options, demo):
    main.add_command(_command)
