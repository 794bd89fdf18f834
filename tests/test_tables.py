"""One table type for Markdown and HTML, and the run report reading it from the JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from solution.reporting.tables import Column, Table, titled

TABLE = Table((Column("model"), Column("accuracy", "right"), Column("pass", "center")),
              [("cnn", "0.99210", "yes"), ("knn", "0.97010", "no")])


def test_markdown_has_one_rule_per_alignment_and_one_line_per_row():
    assert TABLE.markdown().splitlines() == [
        "| model | accuracy | pass |",
        "|---|---:|:---:|",
        "| cnn | 0.99210 | yes |",
        "| knn | 0.97010 | no |",
    ]


def test_a_pipe_in_a_cell_does_not_split_it_in_markdown():
    table = Table((Column("note"),), [("a | b",)])
    assert table.markdown().splitlines()[-1] == "| a \\| b |"


def test_html_escapes_cells_and_headers_and_aligns_every_cell():
    table = Table((Column("x < y"), Column("n", "right")), [("<b>&</b>", "1")])
    text = table.html()
    assert "<b>" not in text and "&lt;b&gt;&amp;&lt;/b&gt;" in text
    assert '<th style="text-align:left">x &lt; y</th>' in text
    assert '<td style="text-align:right">1</td>' in text
    assert text.startswith("<table>") and text.endswith("</table>")


def test_round_trip_through_json_gives_the_same_table():
    back = Table.from_dict(json.loads(json.dumps(TABLE.to_dict())))
    assert back == TABLE and back.markdown() == TABLE.markdown()
    stored = json.loads(json.dumps(titled("t", TABLE, ["before"], ["after"])))
    assert Table.from_dict(stored) == TABLE  # the title and prose around it are ignored


@pytest.mark.parametrize("row", [("cnn", "0.99"), ("cnn", "0.99", "yes", "extra")])
def test_a_row_with_the_wrong_number_of_cells_is_refused(row):
    with pytest.raises(ValueError, match="cells for 3 columns"):
        Table(TABLE.columns, [row])


def test_unformatted_cells_and_unknown_alignments_are_refused():
    with pytest.raises(TypeError, match="formatted strings"):
        Table((Column("n"),), [(1,)])  # type: ignore[list-item]
    data = TABLE.to_dict()
    data["columns"][0]["align"] = "justify"
    with pytest.raises(ValueError, match="justify"):
        Table.from_dict(data)


def test_the_run_report_shows_the_stored_tables_and_skips_older_json(tmp_path):
    from solution.baselines.options import Measured, write_tables
    from solution.baselines.table import Row
    from solution.profiles import get_profile
    from solution.reporting.run_report import comparison_html

    out = tmp_path / "baselines"
    assert "no comparison yet" in comparison_html(tmp_path)
    row = Row("cnn*2", 10, 20, 0.99, 0.98, 400, 12.0, 3.4, "none", "run", "homogeneous")
    write_tables([], [Measured("cnn*2", row, np.zeros((1, 10)), 2)], "scope <all>",
                 get_profile("smoke"), out)
    (out / "baselines-old.json").write_text(json.dumps({"scope": "s", "rows": []}))
    (out / "broken.json").write_text("{")
    shown = comparison_html(tmp_path)
    assert shown.startswith("<h3>Ensembles (smoke)</h3><p>Measured on scope &lt;all&gt;")
    assert '<td style="text-align:left">cnn*2</td>' in shown
    assert '<th style="text-align:right">OOF accuracy</th>' in shown
    assert shown.endswith("one weight each, as `submit --models a,b` averages.</p>")
    stored = json.loads((out / "ensembles-smoke.json").read_text())
    assert stored["rows"][0]["model"] == "cnn*2"  # the rows other code reads back are kept
    assert Table.from_dict(stored["tables"][0]).markdown() in (
        out / "ensembles-smoke.md").read_text()
