"""Choose a field's reading by recognition: every way of grouping its atoms into glyphs, each
glyph read as every character it may be, scored by the models' probabilities and the format.

A path through the lattice covers every atom once; its score is the sum of its characters' log
probabilities. A beam search keeps the best few paths at each atom; the format prunes paths that
can no longer fit it. The field's confidence is the chosen path's share of the probability of
all the complete paths found with and without the format: a field that only fits its format by
a stretch comes out with a low confidence instead of a confident guess.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .field import Atom, FieldWork, Glyph, Line
from .formats import FieldFormat
from .glyphs import KINDS

OTHER = "?"          # a glyph that is no digit and no mark
SKIP = ""            # in a format, a glyph that is no digit and no mark may be left out
MIN_OPTION = 1e-4    # characters less likely than this are not followed
MAX_OPTIONS = 5      # nor more than this many per glyph
BEAM = 16            # paths kept at each atom
PRIOR_FLOOR = 1e-3   # the geometry never rules a kind out entirely
KIND_FLOOR = 0.003   # nor does the glyph model
CUT_COST = 0.05      # ...and this for each cut through a blob: digits touch less often than not
CHAR_COST = 0.1      # ...and this for every character it reads: without it two confident pieces
                     # of a broken 5 (a 1 and a 7) outscore the one 5 they make together
JUNK_COST = 0.02     # a path pays this factor for each glyph it explains as no digit and no mark:
                     # pieces of a broken digit are otherwise "two confident junk glyphs"


@dataclass(frozen=True)
class Reading:
    """One glyph of a path: which atoms, which character, how likely among its characters."""

    glyph: Glyph
    char: str
    probability: float


@dataclass(frozen=True)
class Path:
    score: float                  # sum of log probabilities
    readings: tuple[Reading, ...]
    chars: tuple[str, ...] = ()   # the readings' characters, skipped glyphs left out

    @property
    def key(self) -> tuple:
        return tuple((r.glyph.first, r.glyph.last, r.char) for r in self.readings)


def _ramp(value: float, low: float, high: float) -> float:
    """0 below low, 1 above high, linear between (high < low flips it)."""
    if high == low:
        return float(value >= low)
    return float(min(max((value - low) / (high - low), 0.0), 1.0))  # np.clip: 20x on a scalar


def geometry_prior(box: tuple[int, int, int, int], line: Line) -> np.ndarray:
    """(6,) how plausible each kind is for a glyph of this size and place on the line."""
    x0, y0, x1, y1 = box
    h = max(line.height, 1.0)
    height, width = (y1 - y0) / h, (x1 - x0) / h
    centre = ((y0 + y1) / 2 - line.top) / h
    small = _ramp(height, 0.6, 0.4)
    prior = {
        "digit": _ramp(height, 0.38, 0.55),
        ".": small * _ramp(height, 0.6, 0.45) * _ramp(width, 0.6, 0.45) * _ramp(centre, 0.5, 0.65),
        ",": small * _ramp(centre, 0.5, 0.65),
        "-": _ramp(height, 0.42, 0.3) * _ramp(width / max(height, 1e-3), 1.0, 1.4)
        * _ramp(centre, 0.1, 0.25) * _ramp(centre, 0.82, 0.72),
        "$": _ramp(height, 0.6, 0.75),
        "other": 1.0,
    }
    return np.maximum(np.array([prior[k] for k in KINDS]), PRIOR_FLOOR)


def cut_prior(glyph: Glyph, atoms: list[Atom]) -> np.ndarray:
    """(6,) a glyph that ends at a cut through a blob pays CUT_COST, and is no mark: marks are
    written apart, so a hyphen-shaped piece cut off a 4 is a piece of the 4."""
    cut_left = glyph.first > 0 and atoms[glyph.first - 1].blob == atoms[glyph.first].blob
    cut_right = glyph.last < len(atoms) and atoms[glyph.last].blob == atoms[glyph.last - 1].blob
    prior = np.full(len(KINDS), CUT_COST if cut_right else 1.0)
    if cut_left or cut_right:
        prior[1:5] *= PRIOR_FLOOR
    return prior


def kind_weights(kinds: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(N, 6) the glyph model's kinds weighed by the geometry, not renormalised: a glyph that is
    implausible as every kind (a 2's bottom bar alone: hyphen-shaped, but on the baseline) keeps
    its low weight, so paths that cut a digit into such pieces lose to the path that does not.
    The glyph model is never taken as certain (KIND_FLOOR): a digit it has never seen the like
    of (a blotted 1) can still be read as a digit where the geometry says nothing else fits."""
    return np.maximum(kinds, KIND_FLOOR) * prior


def char_options(kinds: np.ndarray, digits: np.ndarray | None,
                 skip_other: bool) -> list[tuple[str, float]]:
    """(character, weight) for one glyph, most likely first: digits share the digit kind's weight
    by the digit model's probabilities."""
    options: dict[str, float] = {}
    if digits is not None:
        for digit, p in enumerate(digits):
            options[str(digit)] = float(kinds[0] * p)
    for index, mark in enumerate(KINDS[1:5], start=1):
        options[mark] = float(kinds[index])
    options[SKIP if skip_other else OTHER] = float(kinds[5])
    ranked = sorted(options.items(), key=lambda item: -item[1])
    return [(c, p) for c, p in ranked[:MAX_OPTIONS] if p >= MIN_OPTION]


def search(count: int, glyphs: list[Glyph], options: list[list[tuple[str, float]]],
           totals: list[float], fmt: FieldFormat, work: FieldWork | None = None) -> list[Path]:
    """Complete paths over `count` atoms that `fmt` accepts, best first (the beam's survivors).

    options: per glyph, (character, weight); totals: per glyph, the sum of all its weights.
    Work and memory are linear in `count`: each atom keeps only its BEAM best paths once the
    search reaches it, so at most BEAM * MAX_RUN * MAX_OPTIONS paths are built per atom.
    """
    starting: dict[int, list[int]] = {}
    for index, glyph in enumerate(glyphs):
        starting.setdefault(glyph.first, []).append(index)
    at: list[list[Path]] = [[] for _ in range(count + 1)]
    at[0] = [Path(0.0, ())]
    steps = [[(glyphs[index], [(char, math.log(p * _cost(glyphs[index], char)),
                                Reading(glyphs[index], char, p / max(totals[index], 1e-12)))
                               for char, p in options[index]])
              for index in starting.get(position, [])] for position in range(count)]
    built = 0
    for position in range(count):
        paths = heapq.nlargest(BEAM, at[position], key=lambda p: p.score)
        at[position] = []  # the rest can never be extended: free them now
        for path in paths:
            chars = path.chars
            for glyph, choices in steps[position]:
                target = at[glyph.last]
                for char, log_p, reading in choices:
                    extended = (*chars, char) if char != SKIP else chars
                    if not fmt.viable(extended):
                        continue
                    target.append(Path(path.score + log_p, (*path.readings, reading), extended))
                    built += 1
    if work is not None:
        work.paths += built
    done = [p for p in at[count] if p.chars and fmt.accepts(p.chars)]
    return sorted(done, key=lambda p: -p.score)


def _cost(glyph: Glyph, char: str) -> float:
    """Every character pays CHAR_COST; junk made of several atoms pays JUNK_COST per atom."""
    if char in (OTHER, SKIP):
        return JUNK_COST ** (glyph.last - glyph.first) * (CHAR_COST if char == OTHER else 1.0)
    return CHAR_COST


def share(best: Path, fmt: FieldFormat, *families: list[Path]) -> float:
    """The probability of best's text as a share of all distinct complete paths found: paths
    that read the same text (a ZIP+4 with or without its hyphen, a separator taken for a point
    or a comma) count together."""
    return text_shares(fmt, [best], *families)[text_of(best, fmt)]


def text_shares(fmt: FieldFormat, *families: list[Path]) -> dict[str, float]:
    """Each distinct text's share of the probability of all distinct complete paths found (its
    canonical text where `fmt` accepts it, else the characters as written)."""
    seen: dict[tuple, Path] = {}
    for family in families:
        for path in family:
            seen.setdefault(path.key, path)
    if not seen:
        return {}
    top = max(p.score for p in seen.values())
    shares: dict[str, float] = {}
    for path in seen.values():
        text = text_of(path, fmt)
        shares[text] = shares.get(text, 0.0) + math.exp(path.score - top)
    total = sum(shares.values())
    return {text: weight / total for text, weight in shares.items()}


def text_of(path: Path, fmt: FieldFormat) -> str:
    return canonical(path.chars, fmt)


def canonical(chars: tuple[str, ...], fmt: FieldFormat) -> str:
    """The text a reading stands for: canonical in `fmt` where it accepts it, else as written."""
    return fmt.text(chars) if fmt.accepts(chars) else "".join(chars)
