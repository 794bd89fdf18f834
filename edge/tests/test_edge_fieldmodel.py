"""The field model and the two-reader answer: the strip it sees, a real tiny model trained with
CTC for a few steps, exported by tf2onnx and read through onnxruntime, and how two readers'
beliefs become one text and one confidence."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from edge_helpers import written

from digit_edge import DigitReader
from digit_edge.combine import Candidate, candidates, choose
from digit_edge.ctc import ALPHABET, Hypothesis
from digit_edge.field import find_atoms
from digit_edge.fieldmodel import open_field_model
from digit_edge.formats import FieldFormat
from digit_edge.model import BUNDLED, sha256
from digit_edge.reader import clean_field
from digit_edge.strip import FRAME, LINE_PX, STRIP_HEIGHT, field_strip


def test_the_strip_holds_the_line_at_mnist_height(train_digits):
    digits, labels = train_digits
    ink, _, _ = clean_field(written("60614", digits, labels, height=40), "zip")
    atoms, line = find_atoms(ink)
    strip = field_strip(ink.strength, atoms, line)
    assert strip.image.shape[0] == STRIP_HEIGHT and strip.image.shape[1] % FRAME == 0
    rows = np.flatnonzero(strip.image.max(axis=1) > 0.3)
    assert abs((rows[-1] - rows[0] + 1) - LINE_PX) <= 6
    # the strip maps back: its first ink column is the field's first ink column
    first = np.flatnonzero(strip.image.max(axis=0) > 0.3)[0]
    assert abs(strip.x0 + first * strip.scale - min(a.box[0] for a in atoms)) <= 2 * strip.scale


def test_two_readers_agreeing_are_confident_disagreeing_are_not():
    zip_ = FieldFormat("zip")
    both = candidates(zip_, [Hypothesis(tuple("12345"), np.log(0.9))], {"12345": 0.9},
                      {"12345": tuple("12345")})
    best, _, agreed = choose(both)
    assert best.text == "12345" and agreed > 0.95
    split = candidates(zip_, [Hypothesis(tuple("12345"), np.log(0.9)),
                              Hypothesis(tuple("12845"), np.log(0.05))],
                       {"12845": 0.9, "12345": 0.05},
                       {"12845": tuple("12845"), "12345": tuple("12345")})
    _, _, disputed = choose(split)
    assert disputed < agreed - 0.1


def test_a_text_the_format_refuses_is_never_chosen_but_weighs_against():
    found = [Candidate("123456", False, 0.9, 0.9, tuple("123456")),
             Candidate("12345", True, 0.05, 0.05, tuple("12345"))]
    best, overall, confidence = choose(found)
    assert best.text == "12345" and overall.text == "123456" and confidence < 0.05


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, edge_zip):
    """A real field model: 256 training fields, one epoch, half width; beside copies of the
    bundled digit and glyph models, so a DigitReader loads it as its own."""
    from edge.tools import make_field_model

    folder = tmp_path_factory.mktemp("fieldmodel")
    for item in BUNDLED.iterdir():
        if item.name not in ("fields.json", "fields.onnx"):
            shutil.copy(item, folder / item.name)
    assert make_field_model.main(["--data", str(edge_zip), "--samples", "256", "--held-out",
                                  "32", "--epochs", "1", "--width", "0.5", "--workers", "1",
                                  "--out", str(folder)]) == 0
    return folder


@pytest.mark.slow
def test_the_trained_field_model_exports_and_reads_through_onnxruntime(tiny_model,
                                                                      train_digits):
    entry = json.loads((tiny_model / "fields.json").read_text())
    assert entry["sha256"] == sha256(tiny_model / entry["file"])
    assert entry["alphabet"] == ALPHABET and entry["parity_max_abs"] < 1e-3
    model = open_field_model(tiny_model / "digits-int8.onnx", threads=1)
    strip = np.zeros((STRIP_HEIGHT, 96), np.float32)
    strip[6:26, 20:24] = 1.0
    probabilities = model.probabilities(strip)
    assert probabilities.shape == (96 // FRAME, len(ALPHABET) + 1)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    digits, labels = train_digits
    image = written("$12.50", digits, labels)
    reader = DigitReader(model=tiny_model / "digits-int8.onnx", threads=1)
    assert reader.fields is not None and reader.fields.path.parent == tiny_model
    reading = reader.read_field(image, "amount", field_min_confidence=0.0)
    assert 0.0 <= reading.confidence <= 1.0
    for char in reading.chars:
        x0, y0, x1, y1 = char.box
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height


@pytest.mark.slow
def test_each_reader_alone_reads_and_a_bad_choice_is_refused(tiny_model, train_digits):
    digits, labels = train_digits
    image = written("60614", digits, labels)
    for readers in ("lattice", "field", "both"):
        reader = DigitReader(model=tiny_model / "digits-int8.onnx", threads=1, readers=readers)
        reading = reader.read_field(image, "zip", field_min_confidence=0.0)
        assert reading.format == "zip" and 0.0 <= reading.confidence <= 1.0
    with pytest.raises(ValueError, match="readers must be one of"):
        DigitReader(readers="ocr")


@pytest.mark.parametrize(("hardness", "least"), [("broken", 7), ("touching", 4)])
def test_broken_and_touching_digits_read_as_written(reader, train_digits, hardness, least):
    """Every digit with a pen skip, or every pair of neighbours touching or overlapping: what
    turned a 2 into 22 on real ink. The segmenting reader alone read 5 and 0 of these 8 whole
    (a row of touching digits is one blob to it), the field model alone 8 and 6."""
    from edge.bench.make_fields import DigitPool
    from edge.tools.field_data import Hardness, write

    digits, labels = train_digits
    hard = Hardness(broken=1.0, touching=0.0) if hardness == "broken" else \
        Hardness(broken=0.0, touching=1.0)
    right = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        text = "".join(str(d) for d in rng.integers(10, size=5))
        image = write(list(text), DigitPool(digits, labels, rng), rng, hard)
        reading = reader.read_field(image, "zip", min_confidence=0.0, field_min_confidence=0.0)
        right += reading.text == text and len(reading.digits) == 5
    assert right >= least
