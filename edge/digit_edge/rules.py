"""Find and remove printed rules: guide lines, box edges, comb-box separators, a table's lines.

Real fields are written above a printed line, in comb boxes, or inside a check's courtesy-amount
box. Left in, a box edge reads as a `1` and a guide line as commas and hyphens. A rule here is a
straight, thin, long run of ink; what is long is measured in handwriting heights H (the median
height of the tall blobs once everything that may be print is taken out), because a form's scale
is unknown but the writing's is not:

* thin: each of its pixels lies on an ink run across the rule of at most MAX_THICK px (print is
  1-4 px, a little more once scanned), and the rule is under THIN H thick;
* straight: turned at most MAX_TILT degrees (found by a Hough vote over those slopes, then fitted
  column by column), its centre within STRAIGHT px of a line on average; gaps of up to GAP px
  (broken print, JPEG) are bridged, and so are gaps of up to the field's height where
  handwriting crosses or lies on the rule;
* horizontal and long: RULE_HEIGHTS (3.5) H or more, or WIDE_HEIGHTS (2.5) H when it spans
  WIDE (80%) of the image. A guide line runs under a whole ZIP code (4-5 H) and an amount box is
  wider; a hand-drawn hyphen is under 1 H and a check writer's long dash 2-3 H, never most of
  the field. The top and bottom of a closed box count whatever their length (a box round a short
  ZIP code);
* vertical: RULE_HEIGHTS H long (a table's rule); or a box's side, meeting a horizontal rule at
  each end; or a comb's teeth: two or more equally long bars (within TEETH) standing on one
  horizontal rule, each at least ANCHORED_HEIGHTS (1.25) H, taller than the digits in the
  cells. A `1` written on a guide line stands alone, is at most ~1.1 H, and a stroke crossing
  the rule does not end on it.

Removing a rule keeps the handwriting that crosses it: where ink touches the rule's band from
both sides (above and below, or left and right), the band pixels on the straight path between the
two contacts stay, so a 7, a 4 or a descender crossing a guide line stays one piece. A stroke
that only touches the rule loses the few pixels it shares with it.

numpy and Pillow only, vectorised; a typical field takes 5-30 ms, a 2400 x 250 one well under
0.1 s, and the work is bounded (MAX_CANDIDATES lines followed per direction) whatever the ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ink import Ink, label_components, max_pool

DETECT_LEVEL = 0.12    # rules are traced in ink above 12% strength, well under the mask's 35%:
                       # a grey rule is followed whole, not only where JPEG lifts it into the mask
MAX_THICK = 9          # px: a 4 px rule blurred by a scan, traced at DETECT_LEVEL, fits in 9
THIN = 0.25            # ...and a rule is under a quarter of the handwriting's height thick
MAX_TILT = 3.0         # degrees a rule may be turned (a skewed scan, a crooked print)
DRIFT = 3.0            # px the Hough slopes may miss a rule by over the image (vote bins: 3 px)
HOUGH_STEP = 4         # the Hough votes with every 4th column: a rule is long, 1/4 of it is plenty
MIN_LENGTH = 20        # px: shorter runs are not followed (a comb's tooth in the smallest
                       # field worth reading, digits 16 px high, is longer)
COVER = 0.6            # a rule's own thin pixels cover >= 60% of its length not hidden under
                       # handwriting (the rest: the print's and the scan's small gaps)...
VISIBLE = 0.3          # ...and >= 30% of its whole length: a `$` written along a comb's tooth
                       # hides most of it
GAP = 6                # px of empty gap bridged inside a rule: a broken print line, JPEG
MAX_CANDIDATES = 96    # Hough peaks followed per direction, most votes first
RULE_HEIGHTS = 3.5     # a rule is >= 3.5 H long...
WIDE = 0.8             # ...or >= 2.5 H when it spans 80% of the image (horizontal rules)...
WIDE_HEIGHTS = 2.5
ANCHORED_HEIGHTS = 1.25  # ...or >= 1.25 H and meets a horizontal rule (vertical rules)
STRAIGHT = 0.6         # px: a rule's centre strays from a straight line by 0.2-0.4 px on average
                       # (JPEG, aliasing); a curved or slanted pen stroke by more
REACH = 2              # px beyond a rule's band searched for a stroke touching it
TALL = 0.55            # blobs at least 55% as tall as the tallest give the handwriting height,
BAR_SHARE = 0.8        # ...but not those with 80% of their ink on straight vertical runs
TEETH = 0.15           # a comb's teeth on one line are equally long: within 15% of their median
BOX_SPAN = 0.8         # a box's sides reach across >= 80% of the space between the other two


@dataclass(frozen=True)
class Line:
    """A straight thin run, in the frame where it is horizontal (a vertical rule is traced on the
    transposed image): centre row = offset + slope * column, for columns start..stop-1."""

    slope: float
    offset: float
    start: int
    stop: int
    half: float        # half the band removed around the centre, px (thickness / 2 + 1)
    vertical: bool
    wobble: float = 0.0  # mean distance of its thin pixels' centres from the line, px

    @property
    def length(self) -> int:
        return self.stop - self.start

    def centre(self, column: float) -> float:
        return self.offset + self.slope * column

    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in image pixels, x1/y1 exclusive."""
        ends = [self.centre(self.start), self.centre(self.stop - 1)]
        lo = math.floor(min(ends) - self.half)
        hi = math.ceil(max(ends) + self.half) + 1
        if self.vertical:
            return max(0, lo), self.start, hi, self.stop
        return self.start, max(0, lo), self.stop, hi


@dataclass(frozen=True)
class Rules:
    """The printed rules of a field image: which pixels to remove, where the rules are, and the
    interior of the box they enclose, if they do (clipped to the image; a turned box's interior
    is the axis-aligned box round it, so that nothing written inside falls outside)."""

    mask: np.ndarray                                   # (H, W) bool: rule pixels to remove
    segments: tuple[tuple[int, int, int, int], ...]    # each rule's box (x0, y0, x1, y1)
    box: tuple[int, int, int, int] | None              # box interior (x0, y0, x1, y1), or None
    lines: tuple[Line, ...] = ()                       # the rules' geometry, for diagnostics
    height: float | None = None                        # handwriting height H used, px


def find_rules(ink: Ink) -> Rules:
    """The printed rules of `ink` (an Ink at the reader's working resolution, <= 2400 px wide).

    Rules are decided relative to the handwriting's height (see the module docstring); where
    nothing but straight lines is inked, a rule must span most of the image instead. The mask
    leaves out the pixels where handwriting crosses a rule.
    """
    detect = ink.strength > DETECT_LEVEL
    empty = Rules(np.zeros(detect.shape, dtype=bool), (), None)
    if not detect.any():
        return empty
    across = run_lengths(detect, axis=0)  # ink run across a horizontal rule: its thickness
    along = run_lengths(detect, axis=1)
    thin_h = (across > 0) & (across <= MAX_THICK)
    thin_v = (along > 0) & (along <= MAX_THICK)
    height, width = detect.shape
    # handwriting lying on a rule hides it for at most about a digit's width: the field's height
    bridge = min(height, width)
    flat = _candidates(detect, thin_h, bridge, vertical=False)
    tall = _candidates(detect.T, thin_v.T, bridge, vertical=True)
    if not flat and not tall:
        return empty
    # the handwriting's height, measured without whatever may be print: straight lines, and
    # straight bars standing on them (a comb's teeth touch the digits in their cells)
    straight = [line for line in flat if line.wobble <= STRAIGHT]
    standing = [line for line in tall
                if line.wobble <= STRAIGHT and _ends(line, straight) != [None, None]]
    handwriting = handwriting_height(detect & ~_bands(straight + standing, detect.shape),
                                     _bands(tall, detect.shape))
    rules_h = _horizontal_rules(flat, tall, handwriting, width)
    rules_v = _vertical_rules(tall, handwriting, height, rules_h)
    lines = rules_h + rules_v
    if not lines:
        return Rules(empty.mask, (), None, (), handwriting)
    bands = _bands(rules_h, detect.shape) | _bands(rules_v, detect.shape)
    others = detect & ~bands
    inked = ink.strength > 0
    mask = np.zeros(detect.shape, dtype=bool)
    for line in lines:
        _remove(line, inked, others, mask)
    box = _enclosing_box(rules_h, rules_v, others)
    if box is not None:
        box = (box[0], box[1], min(width, box[2]), min(height, box[3]))
    segments = tuple((max(0, x0), max(0, y0), min(width, x1), min(height, y1))
                     for x0, y0, x1, y1 in (line.box() for line in lines))
    return Rules(mask, segments, box, tuple(lines), handwriting)


def remove_rules(ink: Ink, rules: Rules) -> Ink:
    """`ink` without the rule pixels (strength 0, off the mask); crossings were kept by
    find_rules. The polarity is kept as it was detected."""
    if not rules.mask.any():
        return ink
    strength = np.where(rules.mask, np.float32(0), ink.strength).astype(np.float32)
    return Ink(strength, ink.mask & ~rules.mask, ink.dark_on_light)


def crop_to_box(ink: Ink, box: tuple[int, int, int, int]) -> tuple[Ink, tuple[int, int]]:
    """The ink inside a box interior (x0, y0, x1, y1), and (x0, y0): add it to a box found in the
    crop to map it back to `ink`'s pixels."""
    x0, y0, x1, y1 = box
    return Ink(ink.strength[y0:y1, x0:x1], ink.mask[y0:y1, x0:x1], ink.dark_on_light), (x0, y0)


def run_lengths(mask: np.ndarray, axis: int) -> np.ndarray:
    """(H, W) int32: for each on pixel, the length of the run of on pixels along `axis` holding
    it (0 off the mask). O(H * W) with cumulative sums, no Python loop."""
    lines = np.ascontiguousarray(mask.T if axis == 0 else mask)
    count, size = lines.shape
    padded = np.zeros((count, size + 2), dtype=np.int8)
    padded[:, 1:-1] = lines
    steps = np.diff(padded, axis=1).ravel()  # +1 where a run starts, -1 one past its end
    starts = np.flatnonzero(steps == 1)
    stops = np.flatnonzero(steps == -1)
    lengths = stops - starts
    # runs never cross lines (each line has size + 1 steps) and no index both starts and ends one
    marks = np.zeros(steps.size + 1, dtype=np.int64)
    marks[starts] = lengths
    marks[stops] = -lengths
    out = np.cumsum(marks)[:-1].reshape(count, size + 1)[:, :size]
    out = np.where(lines, out, 0).astype(np.int32)
    return out.T if axis == 0 else out


def handwriting_height(mask: np.ndarray, bars: np.ndarray | None = None) -> float | None:
    """The median height in px of the tall blobs of `mask` (as field.py measures the line), or
    None when there are none. Blobs that are mostly `bars` (straight vertical runs: a comb's
    teeth, a box's sides once the lines they stand on are gone, or a 1) are left out unless
    nothing else is left."""
    pooled = max_pool(mask, 2)  # half the size: a quarter of the labelling work, heights +-1 px
    labels, components = label_components(pooled)
    if not components:
        return None
    heights = np.array([c.box[3] - c.box[1] for c in components], dtype=float)
    areas = np.array([c.area for c in components], dtype=float)
    usable = areas >= 3
    if bars is not None:
        on_bars = np.bincount(labels[max_pool(bars & mask, 2)], minlength=len(components) + 1)
        written = usable & (on_bars[1:] < BAR_SHARE * areas)
        usable = written if written.any() else usable
    if not usable.any():
        return None
    heights = heights[usable]
    return 2.0 * float(np.median(heights[heights >= TALL * heights.max()]))


def _candidates(detect: np.ndarray, thin: np.ndarray, max_bridge: int,
                vertical: bool) -> list[Line]:
    """Straight thin runs at most MAX_TILT degrees off the rows of `detect`, longest first."""
    height, width = detect.shape
    # one vote per thin run and column (its top pixel): votes measure length, not thickness, so
    # long rules come first and a thick pen stroke does not outvote a 1 px rule
    tops = thin.copy()
    tops[1:] &= ~detect[:-1]
    ys, xs = np.nonzero(tops[:, ::HOUGH_STEP])
    if ys.size == 0:
        return []
    xs = xs * HOUGH_STEP
    tilt = math.tan(math.radians(MAX_TILT))
    slopes = np.linspace(-tilt, tilt, max(3, math.ceil(2 * tilt * width / DRIFT) + 1))
    pad = math.ceil(tilt * width) + 2
    bins = height + 2 * pad
    # every slope's votes in one bincount: slope k's bins are k * bins .. (k + 1) * bins - 1
    offsets = np.rint(ys - slopes[:, None] * xs).astype(np.int64) + pad
    offsets += np.arange(slopes.size)[:, None] * bins
    votes = np.bincount(offsets.ravel(), minlength=slopes.size * bins).reshape(slopes.size, bins)
    votes[:, 1:-1] += votes[:, :-2] + votes[:, 2:]  # a 3 px band: a line's drift within a bin
    best = votes.max(axis=0)
    peak = np.zeros(bins, dtype=bool)
    peak[1:-1] = (best[1:-1] > best[:-2]) & (best[1:-1] >= best[2:])
    peak &= best >= COVER * MIN_LENGTH / HOUGH_STEP
    order = np.flatnonzero(peak)
    order = order[np.argsort(-best[order], kind="stable")][:MAX_CANDIDATES]
    free = thin.copy()  # thin pixels no run found so far has taken
    found: list[Line] = []
    for b in order:
        slope = float(slopes[votes[:, b].argmax()])
        for line in _follow(detect, free, slope, float(b - pad), max_bridge, vertical):
            found.append(line)
            rows, columns, valid = _band_pixels(line, detect.shape)
            free[rows[valid], np.broadcast_to(columns, rows.shape)[valid]] = False
    return found


def _follow(detect: np.ndarray, free: np.ndarray, slope: float, offset: float,
            max_bridge: int, vertical: bool) -> list[Line]:
    """The runs along a Hough line: its slope refined on the centres of the free thin pixels
    near it, then split where a gap longer than GAP px has no ink over it."""
    reach = MAX_THICK // 2 + 2
    wide = reach + 2  # gathered once: the refits move the line by a pixel or two
    height, width = detect.shape
    columns = np.arange(width)
    centre = np.rint(offset + slope * columns).astype(np.int64)
    # first where along the line there is anything: 3 rows, the line's top edge voted
    core = np.clip(centre + np.arange(-1, 3)[:, None], 0, height - 1)
    hit = np.flatnonzero(free[core, columns].any(axis=0))
    if hit.size < COVER * MIN_LENGTH:
        return []
    lo, hi = max(0, int(hit[0]) - GAP), min(width, int(hit[-1]) + 1 + GAP)
    rows = centre[lo:hi] + np.arange(-wide, wide + 1)[:, None]
    valid = (rows >= 0) & (rows < height)
    rows = np.clip(rows, 0, height - 1)
    thin = free[rows, columns[lo:hi]] & valid
    x = columns[lo:hi].astype(np.float64)
    tilt = math.tan(math.radians(MAX_TILT))
    for _ in range(2):  # fit, then refit without the columns that miss the line
        dist = rows - (offset + slope * x)
        on = thin & (np.abs(dist) <= reach)
        counts = on.sum(axis=0)
        used = (counts > 0) & (counts <= MAX_THICK)
        if np.count_nonzero(used) < COVER * MIN_LENGTH:
            return []
        centres = np.where(on, rows, 0).sum(axis=0)[used] / counts[used]
        residual = centres - (offset + slope * x[used])
        keep = np.abs(residual - _median(residual)) <= 1.5
        if np.count_nonzero(keep) < 2:
            return []
        if np.ptp(x[used][keep]) > 0:
            slope, offset = _fit_line(x[used][keep], centres[keep])
        else:
            offset = _median(centres[keep])
        slope = float(np.clip(slope, -tilt, tilt))
    half = _median(counts[used]) / 2 + 1
    near = valid & (np.abs(rows - (offset + slope * x)) <= half)
    mine = thin & near
    counts = mine.sum(axis=0)
    on = counts > 0
    inked = (detect[rows, columns[lo:hi]] & near).any(axis=0)
    # how far the thin pixels' centres stray from the line: a printed rule stays within a pixel
    stray = np.abs(np.where(mine, rows, 0).sum(axis=0) / np.maximum(counts, 1)
                   - (offset + slope * x))
    lines = []
    for start, stop in _runs(on, inked, max_bridge):
        wobble = float(stray[start:stop][on[start:stop]].mean())
        lines.append(Line(slope, offset, lo + start, lo + stop, half, vertical, wobble))
    return lines


def _fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, offset) of the least-squares line y = offset + slope * x (x not all equal); the
    closed form, which costs a tenth of np.polyfit's general solver on these few hundred points."""
    mean_x, mean_y = float(x.mean()), float(y.mean())
    dx = x - mean_x
    slope = float(dx @ (y - mean_y)) / float(dx @ dx)
    return slope, mean_y - slope * mean_x


def _median(values: np.ndarray) -> float:
    """np.median of a 1-D array, the same value, without its general-purpose overhead (this runs
    a few times for every line followed)."""
    middle = values.size // 2
    if values.size % 2:
        return float(np.partition(values, middle)[middle])
    low, high = np.partition(values, (middle - 1, middle))[middle - 1:middle + 1]
    return (float(low) + float(high)) / 2


def _runs(on: np.ndarray, inked: np.ndarray, max_bridge: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of `on` columns joined over gaps with at most GAP columns
    without ink and at most max_bridge columns in all: MIN_LENGTH long at least, `on` over COVER
    of the columns not under other ink and over VISIBLE of all."""
    columns = np.flatnonzero(on)
    if columns.size == 0:
        return []
    empty = np.concatenate([[0], np.cumsum(~inked)])
    gaps = np.diff(columns) - 1
    blank = empty[columns[1:]] - empty[columns[:-1] + 1]
    breaks = np.flatnonzero((blank > GAP) | (gaps > max_bridge))
    firsts = np.concatenate([[0], breaks + 1])
    lasts = np.concatenate([breaks, [columns.size - 1]])
    long = columns[lasts] + 1 - columns[firsts] >= MIN_LENGTH  # trimming only shortens a run
    runs = []
    for first, last in zip(firsts[long], lasts[long], strict=True):
        first, last = _trim(columns, blank, int(first), int(last))
        start, stop = int(columns[first]), int(columns[last]) + 1
        seen = last - first + 1
        blanks = int(empty[stop] - empty[start])
        if stop - start >= MIN_LENGTH and seen >= VISIBLE * (stop - start) and \
                seen >= COVER * (seen + blanks):
            runs.append((start, stop))
    return runs


def _trim(columns: np.ndarray, blank: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """Drop an end piece of a run that lies beyond an empty gap at least as long as itself: a
    speck of dust just past a rule's end, not the rule."""
    gaps = np.flatnonzero(blank[first:last] > 0)
    if gaps.size:
        k = first + int(gaps[0])
        if blank[k] >= columns[k] - columns[first] + 1:
            first = k + 1
    gaps = np.flatnonzero(blank[first:last] > 0)
    if gaps.size:
        k = first + int(gaps[-1])
        if blank[k] >= columns[last] - columns[k + 1] + 1:
            last = k
    return first, last


def _band_pixels(line: Line, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band removed for a line, in its own frame: rows (n, C) and columns (C,) with the
    validity of each pixel; the band reaches past the run's ends by its half-width (round ends)."""
    extend = math.ceil(line.half) + 1
    columns = np.arange(max(0, line.start - extend), min(shape[1], line.stop + extend))
    top = np.floor(line.centre(columns) - line.half).astype(np.int64)
    count = math.ceil(2 * line.half) + 1
    rows = top[None, :] + np.arange(count)[:, None]
    valid = (rows >= 0) & (rows < shape[0])
    return np.clip(rows, 0, shape[0] - 1), columns, valid


def _bands(lines: list[Line], shape: tuple[int, int]) -> np.ndarray:
    """Bool image (shape) of every line's band, vertical lines drawn transposed."""
    out = np.zeros(shape, dtype=bool)
    for line in lines:
        frame = out.T if line.vertical else out
        rows, columns, valid = _band_pixels(line, frame.shape)
        frame[rows[valid], np.broadcast_to(columns, rows.shape)[valid]] = True
    return out


def _remove(line: Line, inked: np.ndarray, others: np.ndarray, mask: np.ndarray) -> None:
    """Mark the inked band pixels of `line` in `mask`, except the straight path between a stroke
    touching the band from one side and a stroke touching it from the other."""
    if line.vertical:
        inked, others, mask = inked.T, others.T, mask.T
    rows, columns, valid = _band_pixels(line, mask.shape)
    count = rows.shape[0]
    size = mask.shape[0]
    # ink beyond each side of the band, at most REACH px away: a stroke arriving there
    above = np.zeros(columns.size, dtype=bool)
    below = np.zeros(columns.size, dtype=bool)
    for step in range(1, REACH + 1):
        up, down = rows[0] - step, rows[-1] + step
        above |= (up >= 0) & others[np.clip(up, 0, size - 1), columns]
        below |= (down < size) & others[np.clip(down, 0, size - 1), columns]
    keep = np.zeros(rows.shape, dtype=bool)
    if above.any() and below.any():
        # a stroke entering at column a and leaving at a + d passes row i at a + f_i * d; a
        # slant of up to one band height per band height (45 degrees) is followed
        spread = count + 1
        fractions = (np.arange(count) + 1) / (count + 1)
        padded = np.zeros(columns.size + 4 * spread, dtype=bool)
        for d in range(-spread, spread + 1):
            pairs = np.zeros(columns.size, dtype=bool)
            if d >= 0:
                pairs[:columns.size - d] = above[:columns.size - d] & below[d:]
            else:
                pairs[-d:] = above[-d:] & below[:columns.size + d]
            if not pairs.any():
                continue
            padded[2 * spread:2 * spread + columns.size] = pairs
            for i, f in enumerate(fractions):
                shift = round(f * d)
                keep[i] |= padded[2 * spread - shift:2 * spread - shift + columns.size]
            padded[:] = False
    flat_columns = np.broadcast_to(columns, rows.shape)
    take = valid & ~keep & inked[rows, flat_columns]
    mask[rows[take], flat_columns[take]] = True


def _fits(line: Line, height: float | None) -> bool:
    """Straight, and thin next to the handwriting: what every rule is, whatever its length."""
    return line.wobble <= STRAIGHT and (height is None or 2 * line.half - 2 <= THIN * height)


def _horizontal_rules(flat: list[Line], tall: list[Line], height: float | None,
                      width: int) -> list[Line]:
    """The horizontal candidates that are rules: long ones (RULE_HEIGHTS handwriting heights, or
    WIDE_HEIGHTS across most of the image), and the top and bottom of a closed box however short
    (a ZIP code's box is barely wider than the code; each cell of a boxed comb is a box)."""
    shortest = MIN_LENGTH if height is None else ANCHORED_HEIGHTS * height
    fitting = [line for line in flat if _fits(line, height) and line.length >= shortest]
    if height is None:
        long = [line.length >= WIDE * width for line in fitting]
    else:
        long = [line.length >= RULE_HEIGHTS * height or
                (line.length >= WIDE_HEIGHTS * height and line.length >= WIDE * width)
                for line in fitting]
    for upper, lower, _ in _boxes(fitting, [side for side in tall if _fits(side, height)]):
        long[upper] = long[lower] = True
    return [line for line, keep in zip(fitting, long, strict=True) if keep]


def _vertical_rules(lines: list[Line], height: float | None, image_height: int,
                    horizontals: list[Line]) -> list[Line]:
    """The vertical candidates that are rules: very long ones; the sides of a box (they meet a
    horizontal rule at both ends); and a comb's teeth: at least two equally long lines standing
    on the same rule, each taller than ANCHORED_HEIGHTS handwriting heights. A lone 1 written on
    a guide line is neither."""
    rules: list[Line] = []
    teeth: dict[tuple[int, int], list[Line]] = {}
    for line in lines:
        if not _fits(line, height):
            continue
        ends = _ends(line, horizontals)
        if ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
            rules.append(line)
        elif height is None:
            if line.length >= WIDE * image_height and ends != [None, None]:
                rules.append(line)
        elif line.length >= RULE_HEIGHTS * height:
            rules.append(line)
        elif line.length >= ANCHORED_HEIGHTS * height and ends != [None, None]:
            side = 0 if ends[0] is not None else 1
            teeth.setdefault((ends[side], side), []).append(line)
    for group in teeth.values():
        typical = float(np.median([line.length for line in group]))
        alike = [line for line in group if abs(line.length - typical) <= TEETH * typical]
        if len(alike) >= 2:
            rules += alike
    return rules


def _enclosing_box(horizontals: list[Line], verticals: list[Line], others: np.ndarray
                   ) -> tuple[int, int, int, int] | None:
    """The interior of the box holding the most ink that is not a rule (at least half of it;
    ties: the larger box), or None."""
    total = int(others.sum())
    best, best_key = None, (-1, -1)
    for _, _, (x0, y0, x1, y1) in _boxes(horizontals, verticals):
        key = (int(others[y0:y1, x0:x1].sum()), (x1 - x0) * (y1 - y0))
        if 2 * key[0] >= total and key > best_key:
            best, best_key = (x0, y0, x1, y1), key
    return best


def _boxes(horizontals: list[Line], verticals: list[Line]
           ) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """(upper, lower, interior) of each box closed by horizontals[upper], horizontals[lower] and
    the outermost two of the verticals standing between them. Linear in the number of vertical
    lines: each names the two rules it meets, if it meets two."""
    between: dict[tuple[int, int], list[Line]] = {}
    for side in verticals:
        ends = _ends(side, horizontals)
        if ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
            between.setdefault((ends[0], ends[1]), []).append(side)
    boxes = []
    for (upper, lower), sides in between.items():
        if len(sides) < 2:
            continue
        sides.sort(key=lambda r: r.centre((r.start + r.stop) / 2))
        interior = _interior(horizontals[upper], horizontals[lower], sides[0], sides[-1])
        if interior is not None:
            boxes.append((upper, lower, interior))
    return boxes


def _ends(line: Line, horizontals: list[Line]) -> list[int | None]:
    """For the top and the bottom end of a vertical line, the index of the horizontal rule it
    stands on there, or None.

    A tooth's thin pixels stop where the rule's ink begins, on the near side of the rule, or
    a pixel or two short of it (JPEG); a pen stroke crossing the rule goes on past its far side,
    and does not stand on it.
    """
    ends: list[int | None] = []
    for end, sign in ((line.start, -1), (line.stop - 1, 1)):
        x = line.centre(end)
        found = None
        for index, rule in enumerate(horizontals):
            along = line.half + MAX_THICK
            if not rule.start - along <= x <= rule.stop + along:
                continue
            # how far the end lies towards the rule's far side, from the rule's centre
            past = sign * (end - rule.centre(x))
            if -(rule.half + REACH + 1) <= past <= rule.half + 1:
                found = index
                break
        ends.append(found)
    return ends


def _interior(top: Line, bottom: Line, left: Line, right: Line
              ) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) inside four rules when they close a box, else None."""
    xl = left.centre((left.start + left.stop) / 2)
    xr = right.centre((right.start + right.stop) / 2)
    yt = top.centre((xl + xr) / 2)
    yb = bottom.centre((xl + xr) / 2)
    if xr - xl < 2 * MAX_THICK or yb - yt < 2 * MAX_THICK:
        return None
    reach = MAX_THICK
    for rule, lo, hi in ((top, xl, xr), (bottom, xl, xr)):
        if _covered(rule, lo, hi, reach) < BOX_SPAN:
            return None
    for rule, lo, hi in ((left, yt, yb), (right, yt, yb)):
        if _covered(rule, lo, hi, reach) < BOX_SPAN:
            return None
    # a turned box's interior reaches further at one end than at the other: take the farthest,
    # so that nothing written inside falls outside (the rules themselves are removed anyway)
    x0 = max(0, math.ceil(min(left.centre(yt), left.centre(yb)) + left.half))
    x1 = math.floor(max(right.centre(yt), right.centre(yb)) - right.half) + 1
    y0 = max(0, math.ceil(min(top.centre(xl), top.centre(xr)) + top.half))
    y1 = math.floor(max(bottom.centre(xl), bottom.centre(xr)) - bottom.half) + 1
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _covered(rule: Line, lo: float, hi: float, reach: float) -> float:
    """The share of lo..hi (along the rule) that the rule spans, allowing `reach` px at each end."""
    span = min(rule.stop + reach, hi) - max(rule.start - reach, lo)
    return max(0.0, span) / max(hi - lo, 1.0)
