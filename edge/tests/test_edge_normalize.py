"""MNIST-style normalisation: polarity, cropping, aspect, centring, strokes, MNIST arrays."""

from __future__ import annotations

import numpy as np
import pytest
from edge_helpers import ink_box, scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from digit_edge import ArrayError, BlankImageError, InputError, normalize
from digit_edge.normalize import as_mnist_batch


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
    return float((image * ys).sum() / image.sum()), float((image * xs).sum() / image.sum())


def test_dark_on_light_and_light_on_dark_give_the_same_digit(train_digits):
    digit = train_digits[0][0]
    dark = normalize(scan(digit, dark_ink=True))
    light = normalize(scan(digit, dark_ink=False))
    assert dark.max() == pytest.approx(1.0)
    assert np.abs(dark - light).mean() < 0.02


def test_polarity_is_detected_on_grey_paper():
    canvas = Image.new("L", (120, 120), 150)           # mid-grey paper
    ImageDraw.Draw(canvas).line([(60, 20), (60, 100)], fill=40, width=10)  # darker ink
    out = normalize(canvas)
    assert out[:, 14].max() > 0.9 and out[0].max() == 0  # the stroke is the ink, not the paper


def test_position_on_the_page_does_not_matter(train_digits):
    digit = train_digits[0][3]
    reference = normalize(scan(digit, margin=20))
    outs = []
    for where in [(0, 0), (400, 0), (0, 300), (350, 250)]:
        page = Image.new("L", (600, 500), 235)
        page.paste(scan(digit, margin=20), where)
        outs.append(normalize(page))
    for out in outs:
        assert np.abs(out - outs[0]).mean() < 0.02
        # the page is analysed at 160 px, so the digit is softer than when it fills the image
        assert np.abs(out - reference).mean() < 0.05


def test_a_tightly_cropped_digit_reads_like_one_with_margins(train_digits):
    digit = train_digits[0][9]
    framed = scan(digit, margin=40)
    tight = np.asarray(framed)[40:-40, 40:-40]     # ink touches all four borders
    assert np.abs(normalize(tight) - normalize(framed)).mean() < 0.02


def test_fitted_into_20x20_keeping_aspect_and_centred_by_mass(train_digits):
    for digit in train_digits[0][:20]:
        out = normalize(scan(digit, height=120))
        x0, y0, x1, y1 = ink_box(out, 0.05)
        assert max(x1 - x0, y1 - y0) in (19, 20, 21)
        cy, cx = centre_of_mass(out)
        assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0


def test_a_tall_thin_stroke_keeps_its_aspect_ratio():
    canvas = Image.new("L", (200, 300), 255)
    ImageDraw.Draw(canvas).rectangle([90, 30, 110, 270], fill=0)  # 21 x 241 px: a "1"
    out = normalize(canvas)
    x0, y0, x1, y1 = ink_box(out, 0.5)
    assert y1 - y0 in (19, 20, 21) and x1 - x0 <= 4


def test_hairline_strokes_are_thickened_towards_mnist_width():
    canvas = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(canvas).ellipse([100, 40, 300, 360], outline=0, width=2)  # a fine-pen 0
    out = normalize(canvas)
    assert out[14].max() > 0.9                      # not a faint smudge
    assert (out[14] > 0.5).sum() >= 4               # two strokes of >= 2 px on the middle row


def test_a_speck_far_away_does_not_move_the_digit(train_digits):
    digit = train_digits[0][5]
    clean = scan(digit, margin=60)
    dirty = clean.copy()
    ImageDraw.Draw(dirty).rectangle([2, 2, 4, 4], fill=0)
    assert np.abs(normalize(dirty) - normalize(clean)).mean() < 0.01


def test_a_huge_scan_is_downscaled_and_read(train_digits):
    digit = train_digits[0][1]
    big = scan(digit, height=3000, margin=800)     # 4600 px tall, ~21 Mpx
    out = normalize(big)
    assert out.shape == (28, 28) and np.abs(out - normalize(scan(digit))).mean() < 0.03


def test_blank_images_raise_a_clear_error():
    with pytest.raises(BlankImageError, match="blank"):
        normalize(Image.new("L", (100, 100), 200))
    noisy = np.clip(np.random.default_rng(0).normal(0.8, 0.01, (100, 100)), 0, 1)
    with pytest.raises(BlankImageError):
        normalize(noisy.astype(np.float32))


def test_mnist_arrays_are_used_as_they_are(train_digits):
    images = train_digits[0][:5]
    as_uint8 = as_mnist_batch(images)
    assert as_uint8.dtype == np.float32 and as_uint8.shape == (5, 28, 28)
    np.testing.assert_allclose(as_uint8, images / 255.0, atol=1e-6)
    np.testing.assert_allclose(as_mnist_batch(images[..., None]), as_uint8)
    np.testing.assert_allclose(as_mnist_batch(images / 255.0), as_uint8, atol=1e-6)
    np.testing.assert_allclose(as_mnist_batch(images.astype(np.int64)), as_uint8)
    assert as_mnist_batch(images[0]).shape == (1, 28, 28)


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros((5, 28, 27), np.uint8), "expected shape"),
    (np.zeros((5, 28, 28, 3), np.uint8), "expected shape"),
    (np.zeros((784,), np.uint8), "expected shape"),
    (np.full((2, 28, 28), 255.0), "float pixels must be 0-1"),
    (np.full((2, 28, 28), -1, np.int64), "integer pixels must be 0-255"),
    (np.zeros((2, 28, 28), complex), "not a pixel type"),
    (np.zeros((2, 28, 28), bool), "not a pixel type"),
    (np.zeros((2, 28, 28), object), "not a pixel type"),
])
def test_wrong_arrays_are_refused_with_a_reason(array, message):
    with pytest.raises(ArrayError, match=message):
        as_mnist_batch(array)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 90), st.integers(1, 90))))
def test_any_uint8_array_normalises_or_fails_cleanly(array):
    try:
        out = normalize(array)
    except InputError:
        return
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F", "CMYK"]),
       st.integers(1, 120), st.integers(1, 120), st.integers(0, 2**32 - 1))
def test_any_pil_image_normalises_or_fails_cleanly(mode, width, height, seed):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8)).convert(mode)
    draw = ImageDraw.Draw(image)
    draw.line([(0, 0), (width, height)], fill=0 if mode != "F" else 0.0, width=3)
    try:
        out = normalize(image)
    except InputError:
        return
    assert out.shape == (28, 28) and np.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
