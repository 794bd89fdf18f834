"""`python -m export`: prune, convert, quantize and check a run's fold models, then publish them
into the edge package's models folder.

    python -m export                      # runs/LATEST -> edge/digit_edge/models
    python -m export --run runs/<id> --data path/to/digit-recognizer.zip --out /tmp/models
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from export.settings import ExportSettings

DEFAULT_OUT = Path("edge/digit_edge/models")


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--run", "run_path", type=click.Path(file_okay=False), default=None,
              help="Run folder (default: the one runs/LATEST names).")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option("--data", default=None, metavar="PATH",
              help="Competition data, if not where run.json says it came from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=str(DEFAULT_OUT),
              show_default=True, help="Models folder to publish into.")
@click.option("--no-prune", is_flag=True, help="Export the members as trained.")
@click.option("--finetune-epochs", type=click.IntRange(1), default=None,
              help=f"Fine-tune epochs after pruning (default {ExportSettings.finetune_epochs}).")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Bound TensorFlow's and onnxruntime's CPU threads (default: all cores).")
def main(run_path, runs_dir, data, out_dir, no_prune, finetune_epochs, threads) -> None:
    """Export a run's fold models as one int8 ONNX ensemble (and its fp32 twin)."""
    from export.pipeline import ExportRefused, export_run
    from export.run import RunError, resolve_run_dir
    from solution.training.fit import configure_tensorflow

    settings = ExportSettings(prune=not no_prune, threads=threads)
    if finetune_epochs:
        settings = settings.replace(finetune_epochs=finetune_epochs)
    try:
        run_dir = resolve_run_dir(run_path, runs_dir)
        configure_tensorflow(threads)
        result = export_run(run_dir, Path(out_dir), data=data, settings=settings,
                            command=" ".join(["python -m export", *sys.argv[1:]]),
                            log=lambda m: click.echo(m, err=True))
    except (RunError, ExportRefused) as exc:
        fail(str(exc), 1 if isinstance(exc, ExportRefused) else 2)
    except KeyboardInterrupt:
        fail(f"interrupted; {out_dir} left as it was", 130)
    click.echo(result.table_path.read_text())
    click.echo(f"table: {result.table_path} (and export.json)")
