"""Cut a one-line field (a ZIP code, an amount) into atoms, and say which runs of atoms may be
one glyph. Which runs are glyphs is then decided by recognition (lattice.py), not here.

Handwriting breaks the one-blob-per-glyph ideal both ways: a 5's flag lifts off its body, a pen
skips (pieces of one digit), and neighbours written close touch (one blob, two digits). So:
blobs that share most of their columns are one atom (the pieces of a broken digit), except
small blobs low on the line or flat in its middle, which may be a decimal point, a comma or a
hyphen written under or beside a digit; a blob wide enough to hold two digits is cut at its
thinnest columns into several atoms. Any run of up to MAX_RUN neighbouring atoms is a candidate
glyph when they are close enough to belong together.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .errors import BlankImageError, NotAFieldError
from .formats import FieldFormat
from .ink import Component, Ink, label_components

SPECK_STROKES = 0.3   # a blob under 0.3 squared stroke widths of ink is scanner noise
TALL = 0.55           # blobs at least 55% as tall as the tallest set the line's height
MERGE_OVERLAP = 0.5   # blobs sharing >= half the narrower one's columns are one atom...
MARK_HEIGHT = 0.5     # ...unless the smaller is under half the line height and low or flat
CUT_WIDTH = 0.75      # a blob wider than 0.75 line heights may hold two digits...
CUT_MARGIN = 0.2      # ...cut no closer than 0.2 line heights to its ends or another cut
MAX_CUTS = 3          # at most this many cuts per blob, at its thinnest columns
MAX_RUN = 3           # a glyph is at most this many atoms
JOIN_GAP = 0.15       # atoms of different blobs join only when at most 0.15 heights apart...
JOIN_WIDTH = 1.5      # ...and the glyph they make is at most 1.5 line heights wide
# Bounds on the work one image can cause (issue 19): a dusty scan has thousands of specks, and
# every piece that survives becomes atoms, candidate glyphs, model inputs and lattice paths.
SUBSTANTIAL = 0.1     # the pen width is measured on blobs of at least 10% of the largest's area
SPECK_LINE = 0.05     # a blob under 5% of the line height on both sides is noise too
MIN_CHAR_HEIGHT = 8   # pieces shorter than 8 working pixels are too small to be characters
SCRIBBLE = 6          # a character's stroke runs 2-3 times its box's height + width (an 8: 2);
                      # a blob with 6 times as much is noise that grew together or a scribble
MAX_HEIGHT_STROKES = 60  # handwriting is 5-20 pen widths tall (MNIST: 9); ink 60 times taller
                         # than its strokes are wide is texture or noise that grew together
PIECES_PER_CHAR = 4   # a character is written in at most this many pieces (a broken 5, a $)...
DUST = 8              # ...and this much dust outlives speck removal: more pieces is not a field
SMALL_PER_TALL = 2    # marks and fragments per character-sized piece, beyond the dust: more is
                      # blots scattered over the paper
OFF_LINE = 0.5        # tall blobs further than half a line height from the field's line...
OFF_LINE_SHARE = 0.3  # ...being over 30% of them (of at least MIN_LINE_BLOBS): several lines
MIN_LINE_BLOBS = 4
WIDEST_BLOB = (MAX_CUTS + 1) * JOIN_WIDTH  # a blob wider than this many line heights cannot be
                                            # read as characters: hatching, a scribble, a rule


@dataclass
class FieldWork:
    """What reading one field cost. The caps above bound every number; tests assert them."""

    pieces: int = 0        # blobs of ink found
    specks: int = 0        # of those, dropped as noise
    atoms: int = 0
    glyphs: int = 0        # candidate glyphs the glyph model classified
    digit_reads: int = 0   # glyphs the digit model read
    paths: int = 0         # lattice paths the searches built


def max_pieces(fmt: FieldFormat) -> int:
    """The most pieces of ink (after speck removal) a field of `fmt` is read from."""
    return PIECES_PER_CHAR * fmt.max_chars + DUST


@dataclass(frozen=True)
class Line:
    """The line the field is written on, in working-image pixels."""

    height: float   # typical digit height
    top: float      # where digits start...
    base: float     # ...and end (the baseline)
    stroke: float   # typical pen width


@dataclass(frozen=True)
class Atom:
    """A piece of ink that is never split further: its box and its mask inside that box."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1), x1/y1 exclusive
    mask: np.ndarray                # (y1 - y0, x1 - x0) bool
    blob: int                       # atoms cut from one blob share this number


@dataclass(frozen=True)
class Glyph:
    """A candidate glyph: atoms[first:last] joined."""

    first: int
    last: int
    box: tuple[int, int, int, int]
    mask: np.ndarray


def find_atoms(ink: Ink, name: str = "image", fmt: FieldFormat | None = None,
               work: FieldWork | None = None) -> tuple[list[Atom], Line]:
    """The field's atoms, left to right, and its line.

    Raises BlankImageError if there is no ink but specks, NotAFieldError for ink that no field of
    `fmt` (default: a free field) can be: more pieces than it can hold, pieces too small to be
    characters, ink on several lines, a blob too wide to be characters. Every check runs before
    any work that grows faster than the number of pieces.
    """
    fmt = fmt or FieldFormat(None)
    work = work if work is not None else FieldWork()
    labels, components = label_components(ink.mask)
    work.pieces = len(components)
    if not components:
        raise BlankImageError(f"{name}: blank, no ink found")
    edges = _perimeters(labels, len(components))
    substantial = _substantial(components)
    stroke = _pen_width(edges, substantial)
    line = _line(substantial, stroke)
    kept = [c for c in components if not _is_speck(c, stroke, line)]
    work.specks = len(components) - len(kept)
    if not kept:
        raise BlankImageError(f"{name}: blank, only specks of noise found")
    _check_pieces(kept, name, fmt)
    line = _line(kept, stroke)
    if line.height < MIN_CHAR_HEIGHT:
        raise NotAFieldError(f"{name}: {len(kept)} pieces of ink at most {line.height:.0f} px "
                             "tall: specks, not characters")
    if line.height > MAX_HEIGHT_STROKES * stroke:
        raise NotAFieldError(f"{name}: ink {line.height:.0f} px tall drawn with {stroke:.1f} px "
                             "strokes: noise or texture, not handwriting")
    _check_one_line(kept, line, name)
    _check_strokes(kept, edges, name)
    atoms: list[Atom] = []
    for blob, group in enumerate(_merge_overlapping(kept, line)):
        box = _union_box([c.box for c in group])
        x0, y0, x1, y1 = box
        if x1 - x0 > WIDEST_BLOB * line.height and not is_mark_like(box, line):
            raise NotAFieldError(f"{name}: a piece of ink {(x1 - x0) / line.height:.0f} line "
                                 "heights wide: hatching or a scribble, not characters")
        mask = np.isin(labels[y0:y1, x0:x1], [c.label for c in group])
        atoms += _cut(mask, box, blob, line)
    atoms.sort(key=lambda a: (a.box[0] + a.box[2]) / 2)
    if len(atoms) > max_pieces(fmt):
        raise NotAFieldError(f"{name}: {len(atoms)} pieces of ink once touching characters are "
                             f"cut apart: not a field (at most {max_pieces(fmt)})")
    work.atoms = len(atoms)
    return atoms, line


def _check_pieces(kept: list[Component], name: str, fmt: FieldFormat) -> None:
    limit = max_pieces(fmt)
    if len(kept) > limit:
        what = {None: "a field", "amount": "an amount"}.get(fmt.label, f"a {fmt.label}")
        raise NotAFieldError(f"{name}: {len(kept)} separate pieces of ink: not a field "
                             f"({what} is written in at most {limit})")


def _check_one_line(kept: list[Component], line: Line, name: str) -> None:
    """Refuse ink whose tall blobs do not lie along one (possibly turned) line, or that is mostly
    small pieces around a few tall ones: dots scattered over the paper, not characters and their
    marks."""
    tall = [c for c in kept if c.box[3] - c.box[1] >= TALL * line.height]
    small = sum(c.box[3] - c.box[1] < MARK_HEIGHT * line.height for c in kept)
    if small > SMALL_PER_TALL * len(tall) + DUST:
        raise NotAFieldError(f"{name}: {small} small pieces of ink around {len(tall)} tall ones: "
                             "dust or blots, not a field")
    if len(tall) < MIN_LINE_BLOBS:
        return
    x = np.array([(c.box[0] + c.box[2]) / 2 for c in tall])
    y = np.array([(c.box[1] + c.box[3]) / 2 for c in tall])
    slope, offset = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.median(y)))
    off = np.abs(y - (slope * x + offset)) > OFF_LINE * line.height
    if off.mean() > OFF_LINE_SHARE:
        raise NotAFieldError(f"{name}: ink on more than one line ({int(off.sum())} of {len(tall)} "
                             "tall pieces off the line): a field is one line of characters")


def _perimeters(labels: np.ndarray, count: int) -> np.ndarray:
    """(count + 1,) each blob's perimeter in pixel edges (index = label; 0 is the paper)."""
    padded = np.pad(labels, 1)
    edges = np.zeros(count + 1, dtype=np.int64)
    for a, b in ((padded[1:], padded[:-1]), (padded[:, 1:], padded[:, :-1])):
        differ = a != b
        edges += np.bincount(a[differ], minlength=count + 1)
        edges += np.bincount(b[differ], minlength=count + 1)
    return edges


def _pen_width(edges: np.ndarray, substantial: list[Component]) -> float:
    """The pen's width in pixels, 2 * area / perimeter over the substantial blobs only: specks
    are all rim, and measured with them a dusty scan's pen is 1 px wide and nothing is a speck."""
    area = sum(c.area for c in substantial)
    rim = int(edges[[c.label for c in substantial]].sum())
    return max(1.0, 2.0 * area / max(rim, 1))


def _check_strokes(kept: list[Component], edges: np.ndarray, name: str) -> None:
    """Refuse a blob holding far more stroke (half its perimeter) than characters of its size."""
    for c in kept:
        span = c.box[2] - c.box[0] + c.box[3] - c.box[1]
        if edges[c.label] / 2 > SCRIBBLE * span:
            raise NotAFieldError(f"{name}: a piece of ink with {edges[c.label] / 2 / span:.0f} "
                                 "times the stroke a character of its size has: noise or a "
                                 "scribble, not characters")


def _substantial(components: list[Component]) -> list[Component]:
    largest = max(c.area for c in components)
    return [c for c in components if c.area >= SUBSTANTIAL * largest]


def _is_speck(component: Component, stroke: float, line: Line) -> bool:
    x0, y0, x1, y1 = component.box
    return component.area < SPECK_STROKES * stroke * stroke or \
        max(x1 - x0, y1 - y0) < SPECK_LINE * line.height


def candidate_glyphs(atoms: list[Atom], line: Line) -> list[Glyph]:
    """Every run of up to MAX_RUN neighbouring atoms that may be one glyph; single atoms always."""
    glyphs = []
    for first in range(len(atoms)):
        for last in range(first + 1, min(first + MAX_RUN, len(atoms)) + 1):
            run = atoms[first:last]
            if last - first > 1 and not _may_join(run, line):
                break
            glyphs.append(_join(run, first, last))
    return glyphs


def _may_join(run: list[Atom], line: Line) -> bool:
    box = _union_box([a.box for a in run])
    if box[2] - box[0] > JOIN_WIDTH * line.height:
        return False
    for left, right in itertools.pairwise(run):
        if left.blob != right.blob and right.box[0] - left.box[2] > JOIN_GAP * line.height:
            return False
    return True


def _join(run: list[Atom], first: int, last: int) -> Glyph:
    box = _union_box([a.box for a in run])
    mask = np.zeros((box[3] - box[1], box[2] - box[0]), dtype=bool)
    for atom in run:
        x0, y0, x1, y1 = atom.box
        mask[y0 - box[1]:y1 - box[1], x0 - box[0]:x1 - box[0]] |= atom.mask
    return Glyph(first, last, box, mask)


def _line(components: list[Component], stroke: float) -> Line:
    heights = np.array([c.box[3] - c.box[1] for c in components], dtype=np.float64)
    tall = [c for c, h in zip(components, heights, strict=True) if h >= TALL * heights.max()]
    return Line(float(np.median([c.box[3] - c.box[1] for c in tall])),
                float(np.median([c.box[1] for c in tall])),
                float(np.median([c.box[3] for c in tall])), stroke)


def is_mark_like(box: tuple[int, int, int, int], line: Line) -> bool:
    """Small and low on the line (a point or comma) or small and flat (a hyphen)."""
    x0, y0, x1, y1 = box
    height, width = y1 - y0, x1 - x0
    if height >= MARK_HEIGHT * line.height:
        return False
    centre = ((y0 + y1) / 2 - line.top) / max(line.height, 1.0)
    return centre >= 0.6 or width >= 1.5 * height


def _merge_overlapping(components: list[Component], line: Line) -> list[list[Component]]:
    """Union blobs whose column ranges overlap enough: the pieces of one broken digit."""
    parent = list(range(len(components)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    marks = [is_mark_like(c.box, line) for c in components]
    for i, a in enumerate(components):
        for j in range(i + 1, len(components)):
            b = components[j]
            overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
            narrower = min(a.box[2] - a.box[0], b.box[2] - b.box[0])
            if overlap >= MERGE_OVERLAP * narrower and not (marks[i] or marks[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[Component]] = {}
    for i, component in enumerate(components):
        groups.setdefault(root(i), []).append(component)
    return list(groups.values())


def _cut(mask: np.ndarray, box: tuple[int, int, int, int], blob: int, line: Line) -> list[Atom]:
    """Cut a blob wide enough for two digits at up to MAX_CUTS of its thinnest columns."""
    width = mask.shape[1]
    margin = max(2, int(CUT_MARGIN * line.height))
    if width <= CUT_WIDTH * line.height or width < 2 * margin + 1 or \
            is_mark_like(box, line):
        return [Atom(box, mask, blob)]
    columns = mask.sum(axis=0).astype(np.float64)
    order = np.argsort(columns[margin:width - margin], kind="stable") + margin
    cuts: list[int] = []
    for column in order:
        if columns[column] > 3 * line.stroke:
            break
        if all(abs(column - c) >= margin for c in cuts):
            cuts.append(int(column))
            if len(cuts) == MAX_CUTS:
                break
    atoms = []
    edges = [0, *sorted(cuts), width]
    for left, right in itertools.pairwise(edges):
        part = mask[:, left:right]
        rows = np.flatnonzero(part.any(axis=1))
        cols = np.flatnonzero(part.any(axis=0))
        if rows.size == 0:
            continue
        piece = part[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        x0 = box[0] + left + int(cols[0])
        y0 = box[1] + int(rows[0])
        atoms.append(Atom((x0, y0, x0 + piece.shape[1], y0 + piece.shape[0]), piece, blob))
    return atoms


def _union_box(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
