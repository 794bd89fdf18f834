"""Installed size of the edge environment against the training environment.

The edge package promises numpy + onnxruntime + Pillow only; this measures what that saves a
user who embeds it. The edge environment is a fresh venv with `pip install ./edge` (made once
at `.venv-edge`).

    python -m solution.bench.env [--edge-venv .venv-edge] [--train-venv .venv]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from solution.reporting.tables import emit_table


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_edge_venv(venv: Path, edge_dir: Path) -> None:
    """Create the venv once; reinstall the edge package every time so its models are current."""
    python = venv / "bin" / "python"
    # an absolute path: a bare "edge" would be taken as a package name on the index
    package = str(edge_dir.resolve())
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", package], check=True)
    else:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", package], check=True)


def site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise click.ClickException(f"{venv}: no site-packages (not a virtual environment?)")
    return found[0]


@click.command()
@click.option("--edge-venv", type=click.Path(file_okay=False), default=".venv-edge",
              show_default=True)
@click.option("--train-venv", type=click.Path(file_okay=False), default=".venv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the markdown table here.")
def main(edge_venv: str, train_venv: str, out: str | None) -> None:
    """Print a markdown table of both environments' installed sizes."""
    ensure_edge_venv(Path(edge_venv), Path("edge"))
    edge = tree_bytes(site_packages(Path(edge_venv)))
    train = tree_bytes(site_packages(Path(train_venv)))
    table = "\n".join([
        "| environment | installed size |", "|---|---:|",
        f"| edge (`pip install ./edge`: numpy, onnxruntime, Pillow) | {edge / 2**20:,.0f} MiB |",
        f"| training (`.venv`: TensorFlow, tf2onnx, Optuna, ...) | {train / 2**20:,.0f} MiB |",
        f"| **edge / training** | **{edge / train:.1%}** |",
    ])
    emit_table(table, out)


if __name__ == "__main__":
    main()
