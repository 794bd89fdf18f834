"""Every table the project writes, and how a benchmark prints one (stdout, and a file if asked).

`Table` is the one place a table is laid out: writers format their own numbers into string cells,
and the same rows become Markdown for the .md files and HTML for the run report, so the report
never parses Markdown back.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import click

from solution.atomic import write_text

Align = Literal["left", "right", "center"]
_RULES: dict[str, str] = {"left": "---", "right": "---:", "center": ":---:"}


@dataclass(frozen=True)
class Column:
    name: str
    align: Align = "left"

    def __post_init__(self) -> None:
        # a table read back from JSON has not been through the type checker
        if self.align not in get_args(Align):
            raise ValueError(f"column {self.name!r}: align {self.align!r} is not one of "
                             f"{', '.join(get_args(Align))}")


@dataclass(frozen=True)
class Table:
    """Cells are already formatted: how a number reads is the writer's choice, not the table's."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        # tuples whatever sequences came in, so a frozen table cannot change under a reader
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row {list(row)!r} has {len(row)} cells for "
                                 f"{len(self.columns)} columns")
            if not all(isinstance(cell, str) for cell in row):
                raise TypeError(f"row {list(row)!r}: cells must be formatted strings")

    def markdown(self) -> str:
        """GitHub Markdown without padding (a changed cell changes one line); no final newline."""
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(_markdown_cell(c) for c in cells) + " |"

        return "\n".join([line([c.name for c in self.columns]),
                          "|" + "|".join(_RULES[c.align] for c in self.columns) + "|",
                          *(line(row) for row in self.rows)])

    def html(self) -> str:
        """Alignment is inline on every cell, so the table reads the same whatever the page CSS."""
        def line(tag: str, cells: Sequence[str]) -> str:
            return "<tr>" + "".join(
                f'<{tag} style="text-align:{c.align}">{html.escape(cell)}</{tag}>'
                for c, cell in zip(self.columns, cells, strict=True)) + "</tr>"

        head = line("th", [c.name for c in self.columns])
        body = "".join(line("td", row) for row in self.rows)
        return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"

    def to_dict(self) -> dict:
        return {"columns": [{"name": c.name, "align": c.align} for c in self.columns],
                "rows": [list(row) for row in self.rows]}

    @classmethod
    def from_dict(cls, data: dict) -> Table:
        """Other keys are ignored, so a table can be stored inside a larger record (`titled`)."""
        return cls(tuple(Column(c["name"], c["align"]) for c in data["columns"]),
                   tuple(tuple(row) for row in data["rows"]))


def titled(title: str, table: Table, intro: Sequence[str] = (),
           notes: Sequence[str] = ()) -> dict:
    """A table with the prose around it, stored as JSON beside a .md so a report can show it
    whole without reading the Markdown."""
    return {"title": title, "intro": list(intro), "notes": list(notes), **table.to_dict()}


def _markdown_cell(text: str) -> str:
    # a bare | would end the cell early, a newline the row
    return text.replace("|", "\\|").replace("\n", " ")


def emit_table(table: str, out: str | None) -> None:
    click.echo(table)
    if out:
        write_text(Path(out), table + "\n")
