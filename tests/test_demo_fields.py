"""The demo's last step: handwritten ZIP+4 codes and amounts read by the bundled edge model."""

from __future__ import annotations

import sys
from pathlib import Path

from solution.demo import read_written_fields


def test_demo_reads_rendered_zip4_and_amounts(tmp_path):
    edge_cli = str(Path(sys.executable).with_name("digit-edge"))
    readings = read_written_fields(sys.executable, edge_cli, tmp_path / "fields")
    assert [fmt for fmt, _, _ in readings].count("zip+4") == 3
    assert [fmt for fmt, _, _ in readings].count("amount") == 3
    for fmt, _label, reading in readings:
        assert reading["format"] == fmt and {"text", "confidence", "chars"} <= set(reading)
        if not reading["rejected"]:   # accepted readings are in their format's canonical form
            assert len(reading["text"]) == 10 if fmt == "zip+4" else "." in reading["text"]
    right = sum(reading["text"] == label for _, label, reading in readings)
    assert right >= 4, readings   # digits no bundled model saw; 6 of 6 on the day it was written
