"""The CTC decoder (digit_edge/ctc.py) against brute force: on small alphabets and a few frames
every frame path is enumerated, collapsed (repeats merged, blanks dropped) and summed per string,
so the exact n-best readings a format allows and each one's best single path are known.

Tables are drawn from a seeded rng with every entry well above the decoder's MIN_OPTION floor,
so with a beam larger than the number of prefixes the search must be exact.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from digit_edge.ctc import ALPHABET, BLANK, MIN_OPTION, AlignmentError, align, decode
from digit_edge.formats import MAX_FIELD_CHARS, FieldFormat

FREE = FieldFormat(None)
HUGE_BEAM = 100_000  # more than every prefix of T <= 6 frames: the search is then exhaustive


def random_table(rng: np.random.Generator, frames: int, classes: int) -> np.ndarray:
    """(frames, classes) float32 rows summing to 1, no entry under 1 / (50 * classes)."""
    table = rng.uniform(0.02, 1.0, (frames, classes))
    return (table / table.sum(axis=1, keepdims=True)).astype(np.float32)


def peaked(path: list[int], classes: int = len(ALPHABET) + 1, p: float = 0.9) -> np.ndarray:
    """(len(path), classes) float32: each frame gives its class of `path` probability p, the rest
    shared evenly: a confident model that wrote exactly that frame path."""
    table = np.full((len(path), classes), (1 - p) / (classes - 1))
    table[np.arange(len(path)), path] = p
    return table.astype(np.float32)


def collapse(path: tuple[int, ...], alphabet: str) -> tuple[str, ...]:
    """The string a frame path reads: repeats merged, then blanks dropped."""
    return tuple(alphabet[c - 1] for c, _ in itertools.groupby(path) if c != BLANK)


def spans_of(path: tuple[int, ...]) -> list[tuple[int, int]]:
    """Each read character's frames (first, last + 1) in a frame path."""
    spans, t = [], 0
    for c, run in itertools.groupby(path):
        n = len(list(run))
        if c != BLANK:
            spans.append((t, t + n))
        t += n
    return spans


def brute_force(table: np.ndarray, alphabet: str
                ) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], tuple[int, ...]]]:
    """Every string's total probability and its single likeliest frame path, over all C**T
    paths (float64 products, so the sums are exact enough to compare with np.isclose)."""
    frames, classes = table.shape
    paths = list(itertools.product(range(classes), repeat=frames))
    weights = table.astype(np.float64)[np.arange(frames), np.array(paths)].prod(axis=1)
    totals: dict[tuple[str, ...], float] = {}
    best: dict[tuple[str, ...], tuple[int, ...]] = {}
    best_weight: dict[tuple[str, ...], float] = {}
    for path, weight in zip(paths, weights.tolist(), strict=True):
        chars = collapse(path, alphabet)
        totals[chars] = totals.get(chars, 0.0) + weight
        if weight > best_weight.get(chars, -1.0):
            best[chars], best_weight[chars] = path, weight
    return totals, best


# (alphabet, format, frames): the formats are the real ones; ZIP needs 5 characters, too many
# frames to enumerate, so it is checked by construction below instead
CASES = [
    ("01", FREE, 6),
    ("01", FieldFormat("digits", 2), 5),
    ("12", FieldFormat("digits", 2), 4),
    ("0-", FREE, 6),
    ("0-", FieldFormat("digits"), 6),
    ("1-,", FREE, 5),
    ("12.", FieldFormat("amount"), 6),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("alphabet", "fmt", "frames"), CASES)
def test_decode_is_the_exact_n_best(alphabet, fmt, frames, seed):
    rng = np.random.default_rng([seed, frames, len(alphabet)])
    table = random_table(rng, frames, len(alphabet) + 1)
    totals, _ = brute_force(table, alphabet)
    allowed = sorted(((p, s) for s, p in totals.items() if fmt.accepts(s)), reverse=True)[:8]
    found = decode(table, fmt, beam=HUGE_BEAM, n_best=8, alphabet=alphabet)
    assert [h.chars for h in found] == [s for _, s in allowed]
    assert np.allclose([math.exp(h.log_probability) for h in found], [p for p, _ in allowed],
                       rtol=1e-9, atol=0)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("alphabet", "fmt", "frames"), CASES)
def test_small_beam_keeps_to_the_format(alphabet, fmt, frames, seed):
    """A beam too small to be exact still returns accepted readings, best first, each with a
    probability no more than its true one (the search found only some of its paths)."""
    rng = np.random.default_rng([seed, frames, len(alphabet)])
    table = random_table(rng, frames, len(alphabet) + 1)
    totals, _ = brute_force(table, alphabet)
    found = decode(table, fmt, beam=2, n_best=3, alphabet=alphabet)
    assert len(found) <= 3
    assert all(fmt.accepts(h.chars) for h in found)
    assert [h.log_probability for h in found] == sorted((h.log_probability for h in found),
                                                        reverse=True)
    for h in found:
        assert math.exp(h.log_probability) <= totals[h.chars] * (1 + 1e-9)


def test_repeated_characters_need_a_blank_between():
    one = ALPHABET.index("1") + 1
    merged = decode(peaked([one, one, one]), FREE, beam=HUGE_BEAM, n_best=1000)
    assert merged[0].chars == ("1",)
    # "11" is read only through the blank on the middle frame, its one path: 1, blank, 1
    twice = next(h for h in merged if h.chars == ("1", "1"))
    assert math.isclose(math.exp(twice.log_probability), 0.9 * (0.1 / 14) * 0.9, rel_tol=1e-6)
    apart = decode(peaked([one, BLANK, one]), FREE)
    assert apart[0].chars == ("1", "1")
    assert align(peaked([one, BLANK, one]), ("1", "1")) == [(0, 1), (2, 3)]
    assert align(peaked([one, one, one]), ("1", "1")) == [(0, 1), (2, 3)]  # the only way


@pytest.mark.parametrize(("fmt", "written"), [
    (FieldFormat("zip"), "12345"),
    (FieldFormat("zip+4"), "12345-6789"),
    (FieldFormat("amount"), "$1,234.56"),
    (FieldFormat("digits", 6), "100200"),
    (FREE, "3-1.4,1$"),
])
def test_a_confident_field_reads_and_aligns_as_written(fmt, written):
    """Each character held 1-3 frames, with blanks between some and always between repeats:
    decode reads it back under its format, and align finds each character's frames."""
    rng = np.random.default_rng(len(written))
    path, spans = [BLANK], []
    for index, char in enumerate(written):
        if index and (char == written[index - 1] or rng.random() < 0.5):
            path.append(BLANK)
        hold = int(rng.integers(1, 4))
        spans.append((len(path), len(path) + hold))
        path += [ALPHABET.index(char) + 1] * hold
    table = peaked([*path, BLANK, BLANK], p=0.8)
    found = decode(table, fmt)
    assert "".join(found[0].chars) == written
    assert all(fmt.accepts(h.chars) for h in found)
    assert align(table, found[0].chars) == spans


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("alphabet", "frames"), [("01", 6), ("012", 5), ("0-", 4)])
def test_align_is_the_best_single_path(alphabet, frames, seed):
    rng = np.random.default_rng([seed, frames, 7])
    table = random_table(rng, frames, len(alphabet) + 1)
    _, best = brute_force(table, alphabet)
    # every string that fits: with repeats ("00"), alternations, the empty one, the longest
    for chars, path in best.items():
        assert align(table, chars, alphabet=alphabet) == spans_of(path), chars


def test_align_refuses_what_cannot_fit():
    table = random_table(np.random.default_rng(0), 2, len(ALPHABET) + 1)
    with pytest.raises(AlignmentError, match="needs at least 3 frames"):
        align(table, ("1", "1"))  # 1, blank, 1
    with pytest.raises(ValueError, match="needs at least 3 frames"):
        align(table, ("1", "2", "3"))
    with pytest.raises(ValueError, match="not in the alphabet"):
        align(table, ("7", "x"))
    assert align(table, ("1", "2")) == [(0, 1), (1, 2)]
    assert align(table, ()) == []


def test_a_zero_probability_does_not_break_the_alignment():
    one = ALPHABET.index("1") + 1
    table = np.zeros((3, len(ALPHABET) + 1), dtype=np.float32)
    table[:, one] = 1.0  # no blank anywhere, yet "11" can only be read with one in the middle
    assert align(table, ("1", "1")) == [(0, 1), (2, 3)]


def test_nothing_accepted_is_an_empty_list():
    table = random_table(np.random.default_rng(1), 1, len(ALPHABET) + 1)
    assert decode(table, FieldFormat("digits", 2)) == []  # 2 digits need 2 frames
    assert decode(table[:0], FREE) == []                  # no frames: nothing was written
    letters = peaked([ALPHABET.index("-") + 1] * 4)
    assert decode(letters, FieldFormat("zip"), beam=1) == []  # too short for a ZIP anyway


def test_a_frame_under_the_floor_still_offers_its_likeliest_character():
    table = np.full((3, len(ALPHABET) + 1), MIN_OPTION / 10)
    table[1, ALPHABET.index("7") + 1] = MIN_OPTION / 2
    table[:, BLANK] = 1 - table[:, 1:].sum(axis=1)
    assert decode(table, FREE)[0].chars == ("7",)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"\(T, 15\)"):
        decode(np.full((4, 11), 1 / 11), FREE)
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        align(np.full((4, 15), 1 / 15), ("1",), alphabet="01")
    with pytest.raises(ValueError, match="positive"):
        decode(np.full((4, 15), 1 / 15), FREE, beam=0)


@pytest.mark.parametrize("name", [None, "digits", "zip", "zip+4", "amount"])
@pytest.mark.parametrize("frames", [40, 600])
def test_long_noisy_input_is_bounded(name, frames):
    """A long, near-uniform table: every character stays above the floor on every frame, the
    worst case for the search. It still returns some but at most n_best accepted readings, best
    first, none longer than the format allows."""
    fmt = FieldFormat(name)
    table = random_table(np.random.default_rng(frames), frames, len(ALPHABET) + 1)
    found = decode(table, fmt, beam=16, n_best=8)
    assert 1 <= len(found) <= 8
    # the free and digits formats have no length of their own: the reader refuses a long line
    longest = frames if fmt.max_chars == MAX_FIELD_CHARS else fmt.max_chars
    assert all(fmt.accepts(h.chars) and len(h.chars) <= longest for h in found)
    scores = [h.log_probability for h in found]
    assert scores == sorted(scores, reverse=True)
    assert all(-math.inf < s <= 0 for s in scores)
