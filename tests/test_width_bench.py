"""`solution bench widths`: the export's rungs and given widths timed in int8, one real
onnxruntime session each; bad widths are one-line usage errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from solution.cli import main as solution_cli


def test_the_rungs_and_given_widths_are_timed_in_one_table(tmp_path):
    out = tmp_path / "widths.md"
    result = CliRunner().invoke(solution_cli, ["bench", "widths", "--profile", "smoke",
                                               "--rounds", "1", "--widths", "4/4/4/8/8/8/16",
                                               "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [line for line in out.read_text().splitlines()[2:] if line.startswith("| ")]
    # as trained, the smoke network's one distinct rung, the given widths
    assert [row.split(" | ")[0] for row in rows] == ["| 8/8/8/16/16/16/32", "| 4/4/4/16/16/16/32",
                                                     "| 4/4/4/8/8/8/16"]
    assert rows[0].endswith("| 1.00x |")
    macs = [float(row.split(" | ")[2].rstrip("M")) for row in rows]
    assert macs[0] > macs[1] > macs[2]  # narrower, fewer MACs
    assert all(float(row.split(" | ")[3]) > 0 for row in rows)


@pytest.mark.parametrize(("widths", "message"), [("4/x/4", "give positive conv widths"),
                                                 ("4/0/4/8/8/8/16", "give positive conv widths"),
                                                 ("4/4/4", "has 7 conv layers")])
def test_bad_widths_are_one_line_errors(widths, message):
    result = CliRunner().invoke(solution_cli, ["bench", "widths", "--profile", "smoke",
                                               "--widths", widths])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
