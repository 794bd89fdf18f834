"""Two readers, one answer: the field model's CTC readings and the segmenting reader's paths.

The field model (fieldmodel.py, ctc.py) reads the whole strip and never decides cuts; the
segmenting reader (lattice.py) reads glyph by glyph with the digit ensemble. They fail in
different places, so each text either proposes is weighed by both: its CTC probability and its
share of the lattice's paths, each with a floor (a text one reader did not find is unlikely to
it, not impossible: the lattice's beam is narrow), as a product of experts. The field's
confidence is the chosen text's share of the weight of every text either found, with or without
the format, so a text only one reader believes, or that fits the format only by a stretch, is
not confident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ctc import Hypothesis
from .formats import FieldFormat
from .lattice import canonical

# Chosen from a grid of 32 (exponents 0.5/1, floors 1e-3..0.2) on 600 held-out calibration
# fields (scikit-learn digits, the even half) and 300 fields of the other half written the hard
# way (edge/tools/field_data.py: broken strokes, touching digits, slant, dust, JPEG): 84.0% and
# 67.0% entirely right, against 78.7% and 56.3% for the lattice alone and 81.0% and 59.3% for
# the field model alone. Softer mixings read more calibration fields at 1% error (17.0% against
# 12.3%) but fewer hard ones right (62.7%): real ink is the hard kind.
# `python -m edge.tools.fit_mixing` prints the grid.
CTC_WEIGHT = 1.0       # exponent on the field model's probability
LATTICE_WEIGHT = 1.0   # exponent on the lattice's share
CTC_FLOOR = 1e-2       # what a text the field model did not propose counts as
LATTICE_FLOOR = 1e-3   # what a text the lattice did not find counts as


@dataclass(frozen=True)
class Mixing:
    """How the two readers' beliefs are combined (bench --record may fit them)."""

    ctc_weight: float = CTC_WEIGHT
    lattice_weight: float = LATTICE_WEIGHT
    ctc_floor: float = CTC_FLOOR
    lattice_floor: float = LATTICE_FLOOR


@dataclass(frozen=True)
class Candidate:
    """A text either reader proposed: canonical where the format accepts it."""

    text: str
    accepted: bool
    ctc: float             # the field model's probability of the text
    lattice: float         # the text's share of the lattice's paths
    chars: tuple[str, ...]  # the characters as written, from the reader that believes it most


def candidates(fmt: FieldFormat, hypotheses: list[Hypothesis],
               lattice_shares: dict[str, float],
               lattice_chars: dict[str, tuple[str, ...]]) -> list[Candidate]:
    """Every text either reader proposed, with both readers' belief in it."""
    ctc: dict[str, float] = {}
    ctc_chars: dict[str, tuple[str, ...]] = {}
    for hypothesis in hypotheses:
        text = canonical(hypothesis.chars, fmt)
        ctc[text] = ctc.get(text, 0.0) + math.exp(hypothesis.log_probability)
        ctc_chars.setdefault(text, hypothesis.chars)
    found = []
    for text in dict.fromkeys([*ctc, *lattice_shares]):
        chars = ctc_chars.get(text) or lattice_chars[text]
        found.append(Candidate(text, fmt.accepts(chars), min(1.0, ctc.get(text, 0.0)),
                               lattice_shares.get(text, 0.0), chars))
    return found


def weight(candidate: Candidate, mixing: Mixing) -> float:
    return ((candidate.ctc + mixing.ctc_floor) ** mixing.ctc_weight
            * (candidate.lattice + mixing.lattice_floor) ** mixing.lattice_weight)


def choose(found: list[Candidate], mixing: Mixing = Mixing()
           ) -> tuple[Candidate | None, Candidate, float]:
    """(the best text the format accepts or None, the best text of all, the accepted one's share
    of the total weight)."""
    weights = [weight(c, mixing) for c in found]
    total = sum(weights)
    overall = found[max(range(len(found)), key=weights.__getitem__)]
    accepted = [i for i, c in enumerate(found) if c.accepted]
    if not accepted:
        return None, overall, 0.0
    best = max(accepted, key=weights.__getitem__)
    return found[best], overall, weights[best] / total
