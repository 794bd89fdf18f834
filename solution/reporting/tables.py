"""How a benchmark reports: its markdown table on stdout, and atomically in a file when asked."""

from __future__ import annotations

from pathlib import Path

import click

from solution.atomic import write_text


def emit_table(table: str, out: str | None) -> None:
    click.echo(table)
    if out:
        write_text(Path(out), table + "\n")
