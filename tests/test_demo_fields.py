"""The demo's last step: handwritten ZIP+4 codes and amounts, two of them in a printed box, read
by the bundled edge model, each with a picture of its reading."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from solution.demo import read_written_fields


def test_demo_reads_rendered_zip4_and_amounts(tmp_path):
    edge_cli = str(Path(sys.executable).with_name("digit-edge"))
    readings = read_written_fields(sys.executable, edge_cli, tmp_path / "fields")
    shown = [fmt for fmt, _, _ in readings]
    assert (shown.count("zip+4"), shown.count("amount"), shown.count("amount in box")) == (3, 3, 2)
    for fmt, _label, reading in readings:
        assert reading["format"] == fmt.split()[0]
        assert {"text", "confidence", "chars"} <= set(reading)
        if not reading["rejected"]:   # accepted readings are in their format's canonical form
            assert len(reading["text"]) == 10 if fmt == "zip+4" else "." in reading["text"]
    right = sum(reading["text"] == label for _, label, reading in readings)
    assert right >= 4, readings   # digits no bundled model saw
    pictures = sorted((tmp_path / "fields").glob("*/annotated/*.annotated.png"))
    assert len(pictures) == 8 and all(Image.open(p).format == "PNG" for p in pictures)
