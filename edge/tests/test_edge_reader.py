"""DigitReader: results, the reject option, and reading fields made of real digits."""

from __future__ import annotations

import numpy as np
import pytest
from edge_helpers import crop, field, scan
from PIL import Image, ImageDraw

from digit_edge import BlankImageError, DigitReader


def test_classify_result_shapes(reader, train_digits):
    result = reader.classify(train_digits[0][:16])
    assert result.digits.shape == (16,) and result.digits.dtype == np.int64
    assert result.confidences.shape == (16,) and result.probabilities.shape == (16, 10)
    np.testing.assert_allclose(result.confidences, result.probabilities.max(axis=1))
    accepted = result.digits >= 0
    assert (result.digits[accepted] == result.probabilities[accepted].argmax(axis=1)).all()
    assert not result.errors


def test_images_and_paths_classify_like_one_batch(reader, train_digits, tmp_path):
    scans = [scan(d) for d in train_digits[0][:4]]
    scans[0].save(tmp_path / "a.png")
    one = reader.classify(tmp_path / "a.png")
    many = reader.classify([tmp_path / "a.png", *scans[1:]])
    assert len(one.digits) == 1 and len(many.digits) == 4
    np.testing.assert_allclose(one.probabilities[0], many.probabilities[0], atol=1e-6)


def test_reject_option_marks_low_confidence_as_minus_one(train_digits):
    everything = DigitReader(threads=1, min_confidence=0.0).classify(train_digits[0][:50])
    assert (everything.digits >= 0).all() and not everything.rejected.any()
    strict = DigitReader(threads=1, min_confidence=1.0).classify(train_digits[0][:50])
    below = strict.confidences < 1.0
    assert (strict.digits[below] == -1).all() and strict.rejected[below].all()


def test_decide_applies_the_threshold_exactly(reader):
    probabilities = np.full((3, 10), 0.0, np.float32)
    probabilities[0, 3], probabilities[0, 4] = 0.9, 0.1
    probabilities[1, 7], probabilities[1, 1] = 0.6, 0.4
    probabilities[2, 2], probabilities[2, 8] = 0.75, 0.25
    result = reader.decide(probabilities, min_confidence=0.75)
    assert result.digits.tolist() == [3, -1, 2]
    assert result.min_confidence == 0.75


def test_read_field_finds_five_digits_left_to_right(reader, train_digits):
    images = train_digits[0]
    for start in range(0, 40, 5):
        image, boxes = field(list(images[start:start + 5]), gaps=[1, 3, 5, 2])
        reading = reader.read_field(image, min_confidence=0.0)
        assert len(reading.digits) == 5 and len(reading.text) == 5
        for found, true in zip(reading.digits, boxes, strict=True):
            x0, _, x1, _ = found.box
            centre = (true[0] + true[2]) / 2
            assert x0 <= centre <= x1   # each found box sits on its own digit
        assert all(a.box[0] < b.box[0] for a, b in zip(reading.digits, reading.digits[1:],
                                                       strict=False))
        assert reading.text == "".join(str(d.digit) for d in reading.digits)


def test_read_field_agrees_with_classifying_the_digits_alone(reader, train_digits):
    images = train_digits[0][:5]
    image, _ = field(list(images), gaps=[4, 4, 4, 4])
    reading = reader.read_field(image, min_confidence=0.0)
    alone = reader.classify([scan(d, height=64, margin=8) for d in images])
    agree = np.mean([d.digit == a for d, a in zip(reading.digits, alone.digits, strict=True)])
    assert agree >= 0.8


def test_rejected_field_digits_are_question_marks(train_digits):
    strict = DigitReader(threads=1, min_confidence=1.0)
    image, _ = field(list(train_digits[0][:5]), gaps=[3, 3, 3, 3])
    reading = strict.read_field(image)
    for position, digit in enumerate(reading.digits):
        assert (digit.digit is None) == (reading.text[position] == "?")
        assert (digit.digit is None) == (digit.confidence < 1.0)


def test_a_broken_digit_is_read_as_one(reader, train_digits):
    images = list(train_digits[0][:3])
    broken = images[1].copy()
    _, y0, _, y1 = _box(broken)
    broken[(y0 + y1) // 2 - 1:(y0 + y1) // 2 + 1] = 0   # cut it across the middle
    image, _ = field([images[0], broken, images[2]], gaps=[4, 4])
    assert len(reader.read_field(image).digits) == 3


def test_specks_are_ignored(reader, train_digits):
    image, _ = field(list(train_digits[0][:5]), gaps=[3, 3, 3, 3])
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(1)
    for _ in range(12):
        x, y = int(rng.integers(0, image.width - 3)), int(rng.integers(0, image.height - 3))
        draw.rectangle([x, y, x + 2, y + 2], fill=0)
    assert len(reader.read_field(image).digits) == 5


def test_touching_neighbours_are_split(reader, train_digits):
    images, _ = train_digits
    wide = [d for d in images if crop(d).shape[1] >= 0.8 * crop(d).shape[0]][:2]
    image, _ = field(wide, gaps=[-2])   # overlapping by 2 px: one blob
    assert len(reader.read_field(image).digits) == 2


def test_boxes_are_in_the_input_image_pixels(reader, train_digits):
    image, boxes = field(list(train_digits[0][:5]), gaps=[5, 5, 5, 5], scale=12)
    reading = reader.read_field(image)   # 2000+ px wide: analysed downscaled, reported full size
    for found, true in zip(reading.digits, boxes, strict=True):
        assert abs(found.box[0] - true[0]) <= 24 and abs(found.box[2] - true[2]) <= 24


def test_blank_field_raises(reader):
    with pytest.raises(BlankImageError):
        reader.read_field(Image.new("L", (400, 100), 240))


def test_read_fields_keeps_going_after_a_bad_one(reader, train_digits, tmp_path):
    image, _ = field(list(train_digits[0][:5]), gaps=[3, 3, 3, 3])
    results = reader.read_fields([tmp_path / "missing.png", image])
    assert "no such file" in str(results[0]) and len(results[1].digits) == 5


def _box(digit):
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
