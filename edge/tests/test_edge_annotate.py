"""The picture of a reading: a valid PNG whose boxes match the reading's chars, the verdict band,
and the bad-input contract of --annotate (one line, exit 2, nothing half-written)."""

from __future__ import annotations

import numpy as np
import pytest
from edge_helpers import written
from PIL import Image

from digit_edge import AnnotateError, NotAFieldError
from digit_edge.annotate import ACCEPTED, JUNK, REJECTED, SURE, UNSURE
from digit_edge.cli import main
from edge.bench import hostile


def box_colours(picture: Image.Image, chars, input_width: int) -> list[tuple[int, int, int]]:
    """The colour on the left edge of each char's box, mapped from input to picture pixels."""
    factor = picture.width / input_width
    pixels = np.asarray(picture)
    colours = []
    for char in chars:
        x0, y0, _, y1 = char.box
        colours.append(tuple(int(v) for v in pixels[int((y0 + y1) / 2 * factor),
                                                    int(x0 * factor) + 1]))
    return colours


def test_the_picture_shows_each_char_box_and_the_verdict(reader, train_digits, tmp_path):
    digits, labels = train_digits
    image = written("$1,234.56", digits, labels)
    target = tmp_path / "amount.png"
    field = reader.read_field(image, "amount", annotate=target, field_min_confidence=0.0)
    picture = Image.open(target)
    assert picture.format == "PNG" and picture.mode == "RGB"
    assert picture.width >= image.width * 0.5
    expected = [JUNK if c.kind == "other" else SURE if c.confidence >= 0.5 else UNSURE
                for c in field.chars]
    assert box_colours(picture.convert("RGB"), field.chars, image.width) == expected
    band = np.asarray(picture)[-3, picture.width // 2]
    assert tuple(int(v) for v in band) == (REJECTED if field.rejected else ACCEPTED)
    assert [p.name for p in tmp_path.iterdir()] == ["amount.png"]  # no temp file left


def test_a_refused_field_is_drawn_with_its_reason(reader, tmp_path):
    target = tmp_path / "dusty.png"
    with pytest.raises(NotAFieldError):
        reader.read_field(hostile.speckle(800, 100, 0.02), annotate=target)
    band = np.asarray(Image.open(target))[-3, 10]
    assert tuple(int(v) for v in band) == REJECTED


def test_a_picture_that_cannot_be_written_leaves_nothing(reader, train_digits, tmp_path):
    digits, labels = train_digits
    occupied = tmp_path / "taken.png"
    occupied.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(AnnotateError, match=r"taken\.png: cannot write"):
        reader.read_field(written("60614", digits, labels), "zip", annotate=occupied)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"]
    assert not list(occupied.iterdir())


@pytest.mark.parametrize(("where", "needs"), [
    ("missing/out.png", "does not exist"),
    ("file.txt/out.png", "does not exist"),
    ("out.jpg", "name it .png"),
])
def test_cli_refuses_a_bad_annotate_path_in_one_line(tmp_path, train_digits, capsys, where,
                                                     needs):
    digits, labels = train_digits
    field = tmp_path / "zip.png"
    written("60614", digits, labels).save(field)
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(SystemExit) as exited:
        main(["read", str(field), "--annotate", str(tmp_path / where)])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("digit-edge: --annotate ") and needs in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "zip.png"]


def test_cli_annotates_several_inputs_into_a_folder(tmp_path, train_digits, capsys):
    digits, labels = train_digits
    paths = []
    for text in ("60614", "12345"):
        paths.append(tmp_path / f"{text}.png")
        written(text, digits, labels).save(paths[-1])
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    with pytest.raises(SystemExit) as exited:
        main(["read", *map(str, paths), "--annotate", str(tmp_path / "one.png")])
    assert exited.value.code == 2 and "several inputs need an existing folder" in \
        capsys.readouterr().err
    assert main(["read", *map(str, paths), "--format", "zip", "--annotate", str(pictures)]) == 0
    assert sorted(p.name for p in pictures.iterdir()) == ["12345.annotated.png",
                                                         "60614.annotated.png"]
    assert all(Image.open(p).format == "PNG" for p in pictures.iterdir())
