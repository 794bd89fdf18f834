"""Decode the segmentation-free field model: a CNN trained with CTC loss that reads a whole field
strip at once, with no cutting into glyphs.

The model gives, for every frame (4 input columns of the strip), softmax probabilities over
BLANK and the characters of ALPHABET. A string's probability is the sum over every frame path
that collapses to it (repeats merged, then blanks dropped). `decode` finds the likeliest strings
the field's format accepts by a CTC prefix beam search in log space, pruned by the format as it
goes; `align` finds where each character of a chosen string was written, for drawing its box.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .errors import DigitEdgeError
from .formats import MAX_FIELD_CHARS, FieldFormat

ALPHABET = "0123456789.,-$"  # the model's classes 1..14, in its output order
BLANK = 0                    # the model's class 0: no character on this frame
FRAME_COLUMNS = 4            # input columns per frame: align's spans times this are strip columns
MIN_OPTION = 1e-4            # a character less likely than this on a frame is not followed there
BEAM = 16                    # prefixes kept after each frame
N_BEST = 8                   # hypotheses returned

_NONE = -math.inf            # log of probability 0


class AlignmentError(DigitEdgeError, ValueError):
    """The string cannot be aligned to the frames: longer than they can hold, or a character
    the model does not have."""


@dataclass(frozen=True)
class Hypothesis:
    """One reading of the field: its characters and the log of its probability, summed over all
    the frame paths found by the search that collapse to it (natural log, <= 0)."""

    chars: tuple[str, ...]
    log_probability: float


def decode(probabilities: np.ndarray, fmt: FieldFormat, beam: int = BEAM, n_best: int = N_BEST,
           alphabet: str = ALPHABET) -> list[Hypothesis]:
    """The n_best likeliest strings `fmt` accepts, best first; [] when no accepted one survives.

    probabilities: (T, len(alphabet) + 1) float, each row a softmax over BLANK (column 0) and the
    alphabet's characters (columns 1..).

    A prefix is extended only by characters that keep it viable in `fmt` (and no longer than a
    format's own maximum, such as an amount's 17), so the beam is spent on readings that can
    still fit. Work is bounded: at each frame only the characters at least MIN_OPTION likely are
    followed (the likeliest one if none is), and only the `beam` likeliest prefixes are kept.
    With K <= len(alphabet) characters followed per frame, time is O(T * beam * K) in numpy and
    O(T * beam) Python steps, plus one `fmt.viable` call per distinct (prefix, character) tried
    (a refusal is remembered and never tried again): at most T * beam * K calls, in practice
    about T * beam, each O(L) for readings L long. Memory is O(T * beam) for the prefix tree plus
    O(beam * L) for the beam's characters. With a beam at least as large as the number of
    distinct prefixes and no character under MIN_OPTION the search is exact.
    """
    log_p = _log_table(probabilities, alphabet)
    if beam < 1 or n_best < 1:
        raise ValueError(f"beam and n_best must be positive, got {beam} and {n_best}")
    if len(alphabet) > 62:  # refusals are bitmasks over columns, shifted as int64 in numpy
        raise ValueError(f"at most 62 characters, got an alphabet of {len(alphabet)}")
    # MAX_FIELD_CHARS is the reader's limit, which it reports as an error on a longer line, so
    # it must not cut readings here; a smaller maximum is the format's own, past which nothing is
    # accepted (viable alone lets an amount's digits run on for ever)
    cap = fmt.max_chars if fmt.max_chars < MAX_FIELD_CHARS else len(log_p)
    # the characters followed at each frame: those above the floor, else the likeliest one
    chars = log_p[:, 1:]
    followed = chars >= math.log(MIN_OPTION)
    followed[np.arange(len(chars)), np.argmax(chars, axis=1)] |= ~followed.any(axis=1)
    # Prefixes are nodes of a tree (root 0: the empty prefix), so that one string has one id
    # whether it left the beam and came back or not: merging by id is then merging by string,
    # and comparing ints is O(1) where comparing tuples is O(length).
    parent_of, char_of = [-1], [-1]            # per node: its parent, its last character's column
    children: dict[tuple[int, int], int] = {}  # (node, column) -> the node it extends to
    refused: dict[int, int] = {}               # node -> bitmask of columns fmt refuses after it
    # The beam, one entry per prefix: its node, characters, last column (BLANK: none) and the
    # log probability of its paths ending in a blank (pb) or in its last character (pnb). A
    # repeat of the last character extends the prefix only from pb, after a blank.
    nodes: list[int] = [0]
    texts: list[tuple[str, ...]] = [()]
    last, pb, pnb = np.array([BLANK]), np.array([0.0]), np.array([_NONE])
    # per distinct followed-mask (in practice a handful): its columns, as array, list and slots
    by_mask: dict[bytes, tuple[np.ndarray, list[int], dict[int, int]]] = {}
    for row, follow in zip(log_p, followed, strict=True):
        key = follow.tobytes()
        if key not in by_mask:
            column_list = (np.flatnonzero(follow) + 1).tolist()
            by_mask[key] = (np.array(column_list), column_list,
                           {c: k for k, c in enumerate(column_list)})
        columns, column_list, slot = by_mask[key]
        width, n_stay = len(column_list), len(nodes)
        total = np.logaddexp(pb, pnb)
        stay_pb = total + row[BLANK]
        ext = np.where(last[:, None] == columns, pb[:, None], total[:, None]) + row[columns]
        masks = [refused.get(node, 0) for node in nodes]
        if any(masks):
            ext[(np.array(masks)[:, None] >> columns) & 1 == 1] = _NONE
        # Every candidate's pnb: first each prefix staying itself (by its last character again,
        # merged into it; the root's pnb is -inf, so its "last character", the blank column,
        # adds nothing), then extension (i, k) at n_stay + i * width + k.
        cand = np.concatenate([pnb + row[last], ext.ravel()])
        # an extension that is itself a prefix in the beam is the same string: merge it there
        position = {node: i for i, node in enumerate(nodes)}
        into, out_of = [], []
        for j, node in enumerate(nodes):
            i = position.get(parent_of[node])
            if i is not None and (k := slot.get(char_of[node])) is not None:
                into.append(j)
                out_of.append(n_stay + i * width + k)
        if into:
            cand[into] = np.logaddexp(cand[into], cand[out_of])
            cand[out_of] = _NONE
        # an extension has no blank-ending paths yet: its total is its pnb
        scores = cand.copy()
        scores[:n_stay] = np.logaddexp(stay_pb, cand[:n_stay])
        ranked, pnb_list, pb_list, last_list = (scores.tolist(), cand.tolist(), stay_pb.tolist(),
                                                last.tolist())
        nodes_kept, texts_kept, last_kept, pb_kept, pnb_kept = [], [], [], [], []
        for flat in np.argsort(-scores, kind="stable").tolist():
            if len(nodes_kept) == beam or ranked[flat] == _NONE:
                break
            if flat < n_stay:
                nodes_kept.append(nodes[flat])
                texts_kept.append(texts[flat])
                last_kept.append(last_list[flat])
                pb_kept.append(pb_list[flat])
                pnb_kept.append(pnb_list[flat])
                continue
            i, k = divmod(flat - n_stay, width)
            node, column = nodes[i], column_list[k]
            text = texts[i] + (alphabet[column - 1],)
            child = children.get((node, column))
            if child is None:
                if len(text) > cap or not fmt.viable(text):
                    refused[node] = refused.get(node, 0) | 1 << column
                    continue
                child = children[node, column] = len(parent_of)
                parent_of.append(node)
                char_of.append(column)
            nodes_kept.append(child)
            texts_kept.append(text)
            last_kept.append(column)
            pb_kept.append(_NONE)
            pnb_kept.append(ranked[flat])
        nodes, texts = nodes_kept, texts_kept
        last, pb, pnb = np.array(last_kept), np.array(pb_kept), np.array(pnb_kept)
    done = [Hypothesis(text, float(score))
            for text, score in zip(texts, np.logaddexp(pb, pnb).tolist(), strict=True)
            if fmt.accepts(text)]
    return sorted(done, key=lambda h: -h.log_probability)[:n_best]


def align(probabilities: np.ndarray, chars: tuple[str, ...],
          alphabet: str = ALPHABET) -> list[tuple[int, int]]:
    """For each character of `chars`, the frames (first, last + 1) it is written on in the single
    likeliest frame path that collapses to `chars` (Viterbi forced alignment); times
    FRAME_COLUMNS, the strip columns of its box.

    probabilities: (T, len(alphabet) + 1) as for `decode`. The path runs through the CTC states
    blank, c1, blank, c2, ..., cL, blank; it may skip a blank between two different characters
    but not between repeats ("11" needs at least 3 frames). Time and memory O(T * L).
    Raises AlignmentError if `chars` needs more frames than T or has a character not in
    `alphabet`.
    """
    log_p = _log_table(probabilities, alphabet)
    unknown = sorted(set(chars) - set(alphabet))
    if unknown:
        raise AlignmentError(f"{', '.join(map(repr, unknown))} not in the alphabet {alphabet!r}")
    frames, length = len(log_p), len(chars)
    needed = length + sum(a == b for a, b in itertools.pairwise(chars))
    if needed > frames:
        raise AlignmentError(f"{''.join(chars)!r} needs at least {needed} frames, "
                             f"the field has {frames}")
    if length == 0:
        return []
    # a zero probability would make every path -inf and the best one arbitrary: floor it, so
    # only the topology rules paths out
    log_p = np.maximum(log_p, math.log(np.finfo(np.float64).tiny))
    labels = np.zeros(2 * length + 1, dtype=np.int64)  # state s emits column labels[s]
    labels[1::2] = [alphabet.index(c) + 1 for c in chars]
    # a skip from state s - 2 to s jumps over a blank: only onto a character unlike the last
    can_skip = np.zeros(labels.size, dtype=bool)
    can_skip[3::2] = labels[3::2] != labels[1:-2:2]
    emit = log_p[:, labels]  # (T, 2L + 1) each state's log probability on each frame
    score = np.full(labels.size, _NONE)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, labels.size), dtype=np.int8)  # steps back taken into each state
    states = np.arange(labels.size)
    for t in range(1, frames):
        from_one = np.concatenate([[_NONE], score[:-1]])
        from_two = np.where(can_skip, np.concatenate([[_NONE, _NONE], score[:-2]]), _NONE)
        options = np.stack([score, from_one, from_two])
        back[t] = np.argmax(options, axis=0)
        score = options[back[t], states] + emit[t]
    state = labels.size - 1 if score[-1] >= score[-2] else labels.size - 2
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= back[t, state]
    spans = []
    for k in range(length):
        on = np.flatnonzero(path == 2 * k + 1)
        spans.append((int(on[0]), int(on[-1]) + 1))
    return spans


def _log_table(probabilities: np.ndarray, alphabet: str) -> np.ndarray:
    """(T, C) float64 natural logs of a checked (T, C) probability table; log 0 is -inf."""
    table = np.asarray(probabilities, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != len(alphabet) + 1:
        raise ValueError(f"probabilities must be (T, {len(alphabet) + 1}) for blank plus "
                         f"{alphabet!r}, got shape {table.shape}")
    with np.errstate(divide="ignore"):
        return np.log(table)
