"""No image can exhaust the reader: noise is refused, work stays under the caps, long lines read.

Images come from the families of edge/bench/hostile.py (the limits bench's) with parameters drawn
by hypothesis. The work is counted by the FieldWork read_field fills, not timed.
"""

from __future__ import annotations

import difflib

import numpy as np
import pytest
from edge_helpers import field
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digit_edge import BlankImageError, FieldTooLongError, NotAFieldError
from digit_edge.cli import main
from digit_edge.field import MAX_RUN, FieldWork, max_pieces
from digit_edge.formats import MAX_FIELD_CHARS, parse_format
from digit_edge.lattice import BEAM, MAX_OPTIONS
from edge.bench import hostile

FORMATS = st.sampled_from([None, "zip", "zip+4", "amount", "digits"])
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_under_caps(work: FieldWork, fmt: str | None) -> None:
    """The caps read_field promises, whatever the ink: pieces kept, glyphs, model inputs, paths."""
    cap = max_pieces(parse_format(fmt))
    assert work.atoms <= cap
    assert work.glyphs <= MAX_RUN * cap and work.digit_reads <= work.glyphs
    assert work.paths <= 2 * work.atoms * BEAM * MAX_RUN * MAX_OPTIONS


def assert_refused(reader, image, fmt: str | None) -> None:
    work = FieldWork()
    with pytest.raises((NotAFieldError, BlankImageError)) as refused:
        reader.read_field(image, fmt, work=work)
    assert "\n" not in str(refused.value) and str(refused.value).startswith("PIL image")
    assert_under_caps(work, fmt)


@SETTINGS
@given(width=st.integers(100, 3000), height=st.integers(40, 300),
       density=st.floats(0.003, 0.05), size=st.integers(1, 2), seed=st.integers(0, 99),
       fmt=FORMATS)
def test_speckle_is_refused_not_read(reader, width, height, density, size, seed, fmt):
    assert_refused(reader, hostile.speckle(width, height, density, seed, size), fmt)


@SETTINGS
@given(count=st.integers(100, 600), small=st.integers(2, 4), extra=st.integers(1, 4),
       width=st.integers(600, 4000), rows=st.floats(6, 10), seed=st.integers(0, 99),
       fmt=FORMATS)
def test_blots_scattered_over_a_strip_are_refused(reader, count, small, extra, width, rows,
                                                  seed, fmt):
    """Issue 19's "4000x120 strip with 400 small blobs" and its kin. (A few dozen large round
    blots can still come back as a reading, rejected for its low confidence: see the README.)"""
    height = int(rows * 2 * (small + extra))  # several blot heights: they lie on no one line
    image = hostile.blobs(width, height, count, seed, radius=(small, small + extra))
    assert_refused(reader, image, fmt)


@SETTINGS
@given(height=st.integers(40, 160), ratio=st.floats(8, 15), pen=st.integers(1, 3),
       gap=st.floats(0.1, 0.4), seed=st.integers(0, 99), fmt=FORMATS)
def test_hatching_is_refused(reader, height, ratio, pen, gap, seed, fmt):
    """Strokes closer than half their lean: sparse slashes are a written "1111" to any reader."""
    spacing = pen + max(3, int(gap * height))
    image = hostile.hatching(min(2400, int(ratio * height)), height, spacing, seed, pen)
    assert_refused(reader, image, fmt)


@SETTINGS
@given(width=st.integers(60, 900), height=st.integers(60, 900), share=st.floats(0.1, 0.6),
       seed=st.integers(0, 99), fmt=FORMATS)
def test_salt_and_pepper_is_refused(reader, width, height, share, seed, fmt):
    assert_refused(reader, hostile.noise(width, height, seed, share), fmt)


def test_a_page_of_text_is_refused(reader):
    assert_refused(reader, hostile.text_page(), None)


def test_a_60_digit_line_is_read(reader, train_digits):
    digits, labels = train_digits
    text = "".join(str(d) for d in np.random.default_rng(3).integers(10, size=60))
    work = FieldWork()
    reading = reader.read_field(hostile.digit_line(digits, labels, text), work=work)
    assert difflib.SequenceMatcher(None, reading.text, text).ratio() >= 0.9, reading.text
    assert reading.work is work and work.atoms >= 60
    assert_under_caps(work, None)


def test_a_line_longer_than_the_limit_is_refused_naming_it(reader, train_digits):
    digits, labels = train_digits
    text = "".join(str(d) for d in np.random.default_rng(4).integers(10, size=80))
    with pytest.raises(FieldTooLongError, match=f"the longest field read is {MAX_FIELD_CHARS}"):
        reader.read_field(hostile.digit_line(digits, labels, text))


def test_one_noisy_image_in_a_batch_is_named_and_the_rest_read(reader, train_digits):
    images, labels = train_digits
    good, _ = field(list(images[:5]), gaps=[2, 3, 4, 5])
    results = reader.read_fields([good, hostile.speckle(800, 100, 0.02), good], "zip")
    assert isinstance(results[1], NotAFieldError)
    assert "separate pieces of ink: not a field" in str(results[1])
    expected = "".join(str(v) for v in labels[:5])
    assert results[0].text == results[2].text == expected


def test_cli_refuses_a_dusty_scan_in_one_line_with_exit_1(tmp_path, train_digits, capsys):
    images, _ = train_digits
    dusty, good = tmp_path / "dusty.png", tmp_path / "good.png"
    hostile.speckle(3000, 200, 0.03).save(dusty)
    field(list(images[:5]), gaps=[2, 3, 4, 5])[0].save(good)
    assert main(["read", str(dusty), str(good), "--format", "amount"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith(f"digit-edge: {dusty}: ")
    assert "separate pieces of ink: not a field (an amount is written in at most" in err
    assert out.startswith(f"{good}\t") and "1111" not in out
