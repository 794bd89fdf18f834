"""Installed size of the edge environment against the training environment.

The edge package promises numpy + onnxruntime + Pillow only; this measures what that saves a
user who embeds it. The edge environment is a fresh venv with `pip install ./edge` (made once
at `.venv-edge`).

    solution bench env [--edge-venv .venv-edge] [--train-venv .venv]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from solution.errors import UserError
from solution.reporting.tables import Column, Table


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
        raise UserError(f"{venv}: no site-packages (not a virtual environment?)")
    return found[0]


def size_table(edge_bytes: int, train_bytes: int) -> Table:
    """Pure, so the layout can be checked without building virtual environments."""
    return Table((Column("environment"), Column("installed size", "right")),
                 [("edge (`pip install ./edge`: numpy, onnxruntime, Pillow)",
                   f"{edge_bytes / 2**20:,.0f} MiB"),
                  ("training (`.venv`: TensorFlow, tf2onnx, Optuna, ...)",
                   f"{train_bytes / 2**20:,.0f} MiB"),
                  ("**edge / training**", f"**{edge_bytes / train_bytes:.1%}**")])


def installed_sizes(edge_venv: Path, train_venv: Path, edge_dir: Path = Path("edge")) -> Table:
    """Both environments' installed sizes, the edge one (re)installed first."""
    ensure_edge_venv(edge_venv, edge_dir)
    return size_table(tree_bytes(site_packages(edge_venv)), tree_bytes(site_packages(train_venv)))
