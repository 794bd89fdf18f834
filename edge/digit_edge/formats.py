"""Field formats: which character sequences a ZIP, ZIP+4, amount or digits field may hold.

A reading is a tuple of characters: "0".."9", the marks ".", ",", "-", "$", "?" for a glyph that
is neither. The field reader asks `viable(prefix)` while it searches (so a path that can no
longer fit is dropped early) and `accepts(chars)` at the end; `text` and `value` give the
canonical form. In an amount the pen's dot and comma are one "separator": which one it is comes
from where it stands (before three digits: thousands; before the last two: the decimal point).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import DigitEdgeError

FORMATS = ("zip", "zip+4", "amount", "digits")
SEPARATOR = "s"  # an amount's dot-or-comma, before its role is known
MAX_FIELD_CHARS = 64  # the longest field read (a 60-digit line fits); longer ones are refused
MAX_AMOUNT_CHARS = 17  # "$1,000,000,000.00": a check amount longer than that is no amount
DIGITS = frozenset("0123456789")


class FormatError(DigitEdgeError, ValueError):
    """An unknown format name or a bad expected_digits: the caller's mistake, not the input's."""


@dataclass(frozen=True)
class FieldFormat:
    """name: None (free: digits and marks as written), or one of FORMATS; expected: a fixed
    digit count (expected_digits=N), which implies digits only."""

    name: str | None = None
    expected: int | None = None

    @property
    def label(self) -> str | None:
        """How readings name the format: "zip", "9-digit number"; None for a free field."""
        return f"{self.expected}-digit number" if self.expected else self.name

    @property
    def max_chars(self) -> int:
        """The most characters a reading of this format can hold: bounds the reader's work."""
        if self.expected is not None:
            return self.expected
        return {"zip": 5, "zip+4": 10, "amount": MAX_AMOUNT_CHARS}.get(self.name, MAX_FIELD_CHARS)

    def viable(self, chars: tuple[str, ...]) -> bool:
        """Can `chars` still be extended into an accepted reading?"""
        if self.name is None and self.expected is None:
            return True
        if self.expected is not None or self.name in ("zip", "digits"):
            limit = self.expected or (5 if self.name == "zip" else None)
            return set(chars) <= DIGITS and (limit is None or len(chars) <= limit)
        if self.name == "zip+4":
            return _zip4_viable(chars)
        return _amount_groups(chars, complete=False) is not None

    def accepts(self, chars: tuple[str, ...]) -> bool:
        if not self.viable(chars):
            return False
        if self.expected is not None:
            return len(chars) == self.expected
        if self.name == "zip":
            return len(chars) == 5
        if self.name == "digits":
            return len(chars) >= 1
        if self.name == "zip+4":
            return len([c for c in chars if c in DIGITS]) == 9
        if self.name == "amount":
            return _amount_groups(chars, complete=True) is not None
        return bool(chars)

    def text(self, chars: tuple[str, ...]) -> str:
        """The canonical text of an accepted reading ("12345-6789", "$1,234.56")."""
        if self.name == "zip+4":
            digits = "".join(c for c in chars if c in DIGITS)
            return f"{digits[:5]}-{digits[5:]}"
        if self.name == "amount":
            dollar, groups = _amount_groups(chars, complete=True)
            return ("$" if dollar else "") + ",".join(groups[:-1]) + "." + groups[-1]
        return "".join(chars)

    def value(self, chars: tuple[str, ...]) -> Decimal | None:
        """An accepted amount as a Decimal; None for other formats."""
        if self.name != "amount":
            return None
        _, groups = _amount_groups(chars, complete=True)
        return Decimal("".join(groups[:-1]) + "." + groups[-1])

    def why_not(self, chars: tuple[str, ...]) -> str:
        """One line saying why `chars` is no reading of this format."""
        written = "".join("." if c == SEPARATOR else c for c in chars)
        digits = sum(c in DIGITS for c in chars)
        others = sorted({c for c in chars if c not in DIGITS} - {SEPARATOR})
        if self.expected is not None or self.name in ("zip", "digits"):
            if others:
                return f"read {written!r}: {', '.join(map(repr, others))} in a {self.label}"
            need = self.expected or 5
            return f"read {written!r}: {digits} digits, a {self.label} has {need}"
        if self.name == "zip+4":
            return f"read {written!r}: a ZIP+4 is 5 digits, a hyphen and 4 digits"
        return (f"read {written!r}: an amount is an optional $, digits with optional thousands "
                "commas, a decimal point and two cents digits")


def format_key(fmt: FieldFormat) -> str:
    """How manifests key per-format figures: the format's name, "free" for a free field or a
    fixed number of digits."""
    return fmt.name if fmt.name is not None and fmt.expected is None else "free"


def parse_format(name: str | None = None, expected_digits: int | None = None) -> FieldFormat:
    """The FieldFormat for read_field's `format` and `expected_digits` arguments."""
    if expected_digits is not None:
        if isinstance(expected_digits, bool) or not isinstance(expected_digits, int) \
                or expected_digits < 1:
            raise FormatError(f"expected_digits must be a positive integer, got "
                              f"{expected_digits!r}")
        if name not in (None, "digits"):
            raise FormatError(f"expected_digits={expected_digits} goes with format 'digits' or "
                              f"None, not {name!r}")
        return FieldFormat("digits", expected_digits)
    if name is not None and name not in FORMATS:
        raise FormatError(f"unknown format {name!r}; use one of {', '.join(FORMATS)} or None")
    return FieldFormat(name)


def _zip4_viable(chars: tuple[str, ...]) -> bool:
    if not set(chars) <= DIGITS | {"-"}:
        return False
    if "-" in chars:
        return chars.count("-") == 1 and chars.index("-") == 5 and len(chars) <= 10
    return len(chars) <= 9


def _amount_groups(chars: tuple[str, ...], complete: bool
                   ) -> tuple[bool, list[str]] | None:
    """(dollar sign written, digit groups between separators), or None if no amount can be made
    of `chars` (when complete: is one)."""
    dollar = bool(chars) and chars[0] == "$"
    body = chars[1:] if dollar else chars
    if not set(body) <= DIGITS | {SEPARATOR, ".", ","}:
        return None
    groups = "".join(SEPARATOR if c in ".," else c for c in body).split(SEPARATOR)
    if len(groups) >= 2 and not groups[0]:
        return None
    if any(len(g) != 3 for g in groups[1:-1]):
        return None
    if len(groups) >= 3 and len(groups[0]) > 3:
        return None
    if complete:
        if len(groups) < 2 or len(groups[-1]) != 2:
            return None
    elif len(groups) >= 2 and len(groups[-1]) > 3:
        return None
    return dollar, groups
