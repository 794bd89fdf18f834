"""Field formats: the grammar of ZIP, ZIP+4, amounts and fixed-length numbers, without images."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digit_edge import FormatError
from digit_edge.formats import FieldFormat, parse_format

AMOUNT = parse_format("amount")


def written_amount(cents: int, dollar: bool, commas: bool, marks: list[str]) -> tuple[str, ...]:
    """An amount as characters, its separators drawn as `marks` (a pen's dot or comma, in order),
    whatever their role."""
    whole, part = divmod(cents, 100)
    text = (f"{whole:,}" if commas else str(whole)) + f".{part:02d}"
    chars, marks_left = [], iter(marks)
    for char in ("$" if dollar else "") + text:
        chars.append(next(marks_left, char) if char in ".," else char)
    return tuple(chars)


@given(st.integers(0, 10**11), st.booleans(), st.booleans(),
       st.lists(st.sampled_from([".", ","]), min_size=5, max_size=5))
def test_any_written_amount_parses_to_its_value(cents, dollar, commas, marks):
    chars = written_amount(cents, dollar, commas, marks)
    assert AMOUNT.accepts(chars)
    assert AMOUNT.value(chars) == Decimal(cents) / 100
    whole, part = divmod(cents, 100)
    expected = ("$" if dollar else "") + (f"{whole:,}" if commas else str(whole)) + f".{part:02d}"
    assert AMOUNT.text(chars) == expected   # the role decides the mark, not the pen


@given(st.integers(0, 10**9), st.booleans())
def test_every_prefix_of_an_amount_is_viable(cents, dollar):
    chars = written_amount(cents, dollar, True, [])
    assert all(AMOUNT.viable(chars[:n]) for n in range(len(chars) + 1))


@pytest.mark.parametrize("written", ["12.5", "1234", "$1,23.45", "12,3456.78", "1.234.5",
                                     "$", "12$.00", "1-2.00", ".50", "1,2345.67"])
def test_what_is_no_amount_is_refused(written):
    assert not AMOUNT.accepts(tuple(written))


def test_zip_and_zip4():
    zip5, zip4 = parse_format("zip"), parse_format("zip+4")
    assert zip5.accepts(tuple("60614")) and not zip5.accepts(tuple("606145"))
    assert not zip5.viable(tuple("6061-")) and not zip5.viable(tuple("606145"))
    assert zip4.text(tuple("12345-6789")) == "12345-6789"
    assert zip4.text(tuple("123456789")) == "12345-6789"   # the hyphen missing or too faint
    for bad in ("1234-56789", "12345--6789", "12345-678", "12345-67890"):
        assert not zip4.accepts(tuple(bad)), bad


def test_digits_and_expected_digits():
    assert parse_format("digits").accepts(tuple("0123456789012"))
    assert not parse_format("digits").accepts(tuple("12-3"))
    nine = parse_format(None, expected_digits=9)
    assert nine.accepts(tuple("021000021")) and not nine.accepts(tuple("02100002"))
    assert FieldFormat().accepts(tuple("$1-2.,?"))   # free: whatever is written


def test_reasons_say_what_was_read_and_what_is_needed():
    assert parse_format("zip").why_not(tuple("606145")) == "read '606145': 6 digits, a zip has 5"
    assert "'-'" in parse_format("zip").why_not(tuple("606-14"))
    assert "two cents digits" in AMOUNT.why_not(tuple("$12.5"))


@pytest.mark.parametrize(("name", "expected"), [("postcode", None), ("zip", 5), ("amount", 3),
                                                ("digits", 0), (None, -3), (None, True)])
def test_bad_format_arguments_raise_format_error(name, expected):
    with pytest.raises(FormatError):
        parse_format(name, expected)
