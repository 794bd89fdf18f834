"""Printed rules (digit_edge/rules.py): guide lines, amount boxes and comb boxes are found and
removed, the handwriting that crosses them is kept whole, and hand-drawn dashes are not rules.

Each form is drawn twice with the same paper noise, with and without its print, so what the
reader would have seen without the rules is known pixel for pixel. Print is black or grey, 1-4 px,
turned 0-3 degrees, and every page goes through JPEG as a document scanner's would.
"""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digit_edge.imaging import load_gray
from digit_edge.ink import Ink, find_ink, label_components
from digit_edge.rules import crop_to_box, find_rules, remove_rules, run_lengths
from edge.bench.pen import draw

HEIGHT = 40     # digit height, px
PEN = 5.0       # pen width, px
SUPER = 4       # print drawn 4x and shrunk: anti-aliased like a scan
BASE = 2.1      # a guide line or comb's baseline, in line units (the writing sits on 1.8)

# digits in line units (y = 0 top, 1 baseline); the 7 and the 4 reach far below the baseline, so
# they cross a guide line or a comb's baseline printed under the writing
SHAPES = {
    "7": [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.6)]],
    "4": [[(0.45, 0.0), (0.0, 0.65), (0.65, 0.65)], [(0.45, 0.0), (0.45, 1.6)]],
    "1": [[(0.25, 0.0), (0.3, 1.0)]],
    "0": [[(0.3 + 0.3 * math.cos(a), 0.5 + 0.5 * math.sin(a))
           for a in np.linspace(0, 2 * math.pi, 40)]],
    "2": [[(0.0, 0.25), (0.3, 0.0), (0.6, 0.25), (0.0, 1.0), (0.65, 1.0)]],
    "-": [[(0.0, 0.5), (0.45, 0.53)]],                      # a hyphen: under half a digit
    "=": [[(0.0, 0.55), (1.0, 0.5), (2.0, 0.57)]],          # a check writer's dash: 2 digits
}
WIDTH = {"7": 0.6, "4": 0.65, "1": 0.3, "0": 0.6, "2": 0.65, "-": 0.45, "=": 2.0}


def writing(text: str, left: float = 1.0, top: float = 0.8, gap: float = 0.35,
            cells: float | None = None) -> tuple[list, list[tuple[str, float]]]:
    """Strokes of `text` in line units, and each character with its left edge. With `cells`, one
    character per cell of that width (comb boxes), centred."""
    strokes, placed, x = [], [], left
    for char in text:
        at = x + (cells - WIDTH[char]) / 2 if cells else x
        strokes += [[(at + px, top + py) for px, py in s] for s in SHAPES[char]]
        placed.append((char, at))
        x += cells if cells else WIDTH[char] + gap
    return strokes, placed


def page(form: str, text: str = "7410", thickness: float = 2.0, grey: bool = False,
         angle: float = 0.0, label: bool = False, seed: int = 0
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(scan with the print, the same scan without it, the writing alone (H, W) float 0..1,
    geometry): grey float32 pages after a JPEG round trip, dark on light."""
    cells = 1.2 if form == "comb" else None
    left = 2.2 if label else 1.0
    strokes, placed = writing(text, left=left, cells=cells)
    units = (left + (len(text) * cells if cells else sum(WIDTH[c] + 0.35 for c in text)) + 1.0)
    size = (round(units * HEIGHT), round(3.2 * HEIGHT))
    ink = draw(strokes, HEIGHT, PEN, width=units, top=0.0)
    hand = np.zeros((size[1], size[0]), np.float32)
    hand[:ink.shape[0], :ink.shape[1]] = ink[:size[1], :size[0]]
    printed, geometry = _print(form, size, placed, thickness, angle, label, cells)
    rng = np.random.default_rng(seed)
    paper = 0.9 + rng.normal(0, 0.01, hand.shape)
    darkness = 0.5 if grey else 0.95
    with_print = paper * (1 - 0.85 * hand) * (1 - darkness * printed)
    without = paper * (1 - 0.85 * hand)
    return _jpeg(with_print), _jpeg(without), hand, geometry


def _print(form: str, size: tuple[int, int], placed: list[tuple[str, float]], thickness: float,
           angle: float, label: bool, cells: float | None) -> tuple[np.ndarray, dict]:
    image = Image.new("L", (size[0] * SUPER, size[1] * SUPER))
    canvas = ImageDraw.Draw(image)
    turn = math.radians(angle)
    cx, cy = size[0] / 2, size[1] / 2

    def at(x: float, y: float) -> tuple[float, float]:  # line units -> turned, super pixels
        x, y = x * HEIGHT - cx, y * HEIGHT - cy
        return ((cx + x * math.cos(turn) - y * math.sin(turn)) * SUPER,
                (cy + x * math.sin(turn) + y * math.cos(turn)) * SUPER)

    width = max(1, round(thickness * SUPER))
    first, last = placed[0][1], placed[-1][1] + WIDTH[placed[-1][0]]
    geometry: dict = {}
    if form == "guide":
        canvas.line([at(0.3, BASE), at(size[0] / HEIGHT - 0.3, BASE)], fill=255, width=width)
    elif form == "box":
        x0, x1, y0, y1 = first - 0.4, last + 0.4, 0.5, 2.65
        corners = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)]
        canvas.line([*corners, corners[0]], fill=255, width=width, joint="curve")
        geometry["box"] = (x0 * HEIGHT, y0 * HEIGHT, x1 * HEIGHT, y1 * HEIGHT)
        if label:
            font = ImageFont.load_default(size=round(0.7 * HEIGHT * SUPER))
            canvas.text(at(0.4, 1.4), "$", fill=255, font=font, anchor="lm")
    elif form == "comb":
        left = placed[0][1] - (cells - WIDTH[placed[0][0]]) / 2
        right = left + len(placed) * cells
        canvas.line([at(left, BASE), at(right, BASE)], fill=255, width=width)
        for k in range(len(placed) + 1):
            canvas.line([at(left + k * cells, BASE), at(left + k * cells, 0.3)], fill=255,
                        width=width)
        geometry["teeth"] = len(placed) + 1
    printed = np.asarray(image.reduce(SUPER), np.float32) / 255
    return printed, geometry


def _jpeg(gray: np.ndarray, quality: int = 70) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8)).save(buffer, "JPEG",
                                                                       quality=quality)
    buffer.seek(0)
    return load_gray(Image.open(buffer), 2400, 600_000)[0]


def grown(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        out[1:] |= out[:-1].copy()
        out[:-1] |= out[1:].copy()
        out[:, 1:] |= out[:, :-1].copy()
        out[:, :-1] |= out[:, 1:].copy()
    return out


def clean(scan: np.ndarray) -> tuple[Ink, Ink, object]:
    ink = find_ink(scan)
    rules = find_rules(ink)
    return ink, remove_rules(ink, rules), rules


def assert_print_removed_and_writing_kept(scan, plain, hand):
    """Almost no print left away from the writing; the writing as it reads without the print
    (one pixel of tolerance) kept; each character that crossed a rule still one piece."""
    ink, cleaned, rules = clean(scan)
    writing_px = find_ink(plain).mask
    near = grown(hand > 0.05, 2)
    printed = ink.mask & ~near
    assert printed.sum() > 50, "the test drew no print the reader would see"
    assert (cleaned.mask & printed).sum() <= 0.02 * printed.sum()
    kept = (writing_px & grown(cleaned.mask, 1)).sum() / writing_px.sum()
    assert kept >= 0.97
    labels, _ = label_components(cleaned.mask & grown(hand > 0.3, 1))
    for piece in _characters(hand):
        sizes = np.bincount(labels[piece][labels[piece] > 0])
        assert sizes.max() >= 0.95 * sizes.sum(), "a character was cut in pieces"
    return ink, cleaned, rules


def _characters(hand: np.ndarray) -> list[np.ndarray]:
    """A boolean mask per character of the writing (its connected ink)."""
    labels, components = label_components(hand > 0.3)
    return [labels == c.label for c in components if c.area > 20]


VARIANTS = [  # (thickness px, grey, turned degrees)
    (1.0, False, 0.0),
    (2.0, True, 1.5),
    (3.0, False, -3.0),
    (4.0, True, 2.5),
]


@pytest.mark.parametrize(("thickness", "grey", "angle"), VARIANTS)
def test_a_guide_line_is_removed_and_the_7_and_4_crossing_it_stay_whole(thickness, grey, angle):
    scan, plain, hand, _ = page("guide", "7410", thickness, grey, angle)
    _, _, rules = assert_print_removed_and_writing_kept(scan, plain, hand)
    assert len(rules.segments) == 1 and rules.box is None


@pytest.mark.parametrize(("thickness", "grey", "angle"), VARIANTS)
def test_an_amount_box_is_removed_and_its_interior_found(thickness, grey, angle):
    scan, plain, hand, geometry = page("box", "2710", thickness, grey, angle)
    _, _, rules = assert_print_removed_and_writing_kept(scan, plain, hand)
    assert rules.box is not None
    x0, y0, x1, y1 = rules.box
    rows, cols = np.nonzero(hand > 0.3)
    assert x0 <= cols.min() and cols.max() < x1 and y0 <= rows.min() and rows.max() < y1
    bx0, by0, bx1, by1 = geometry["box"]
    slack = math.sin(math.radians(abs(angle))) * (bx1 - bx0) / 2 + thickness + 2
    assert x0 >= bx0 - slack and x1 <= bx1 + slack and y0 >= by0 - slack and y1 <= by1 + slack


@pytest.mark.parametrize(("thickness", "grey", "angle"), VARIANTS)
def test_comb_boxes_are_removed_teeth_and_baseline(thickness, grey, angle):
    scan, plain, hand, geometry = page("comb", "74102", thickness, grey, angle)
    _, _, rules = assert_print_removed_and_writing_kept(scan, plain, hand)
    assert len(rules.segments) == 1 + geometry["teeth"]


def test_a_printed_label_stays_outside_the_box_and_the_crop_keeps_the_writing():
    scan, _, hand, _ = page("box", "7410", 2.0, False, 1.0, label=True)
    ink, cleaned, rules = clean(scan)
    assert rules.box is not None
    inside, (dx, dy) = crop_to_box(cleaned, rules.box)
    assert (dx, dy) == rules.box[:2]
    assert inside.mask.shape == (rules.box[3] - rules.box[1], rules.box[2] - rules.box[0])
    assert inside.dark_on_light == ink.dark_on_light
    writing_px = cleaned.mask & grown(hand > 0.3, 1)
    assert inside.mask.sum() >= 0.98 * writing_px.sum()
    label = cleaned.mask[:, :dx]
    assert label.sum() > 30  # the printed $ is still there, outside the box: crop it away


@pytest.mark.parametrize("text", ["7-10", "41=", "2-=70"])
def test_hand_drawn_hyphens_and_dashes_are_not_rules(text):
    scan, plain, hand, _ = page("guide", text, 2.0, False, 1.0)
    _, _, rules = assert_print_removed_and_writing_kept(scan, plain, hand)  # dashes kept too
    assert len(rules.segments) == 1  # the guide line, nothing written
    assert not clean(plain)[2].segments


@pytest.mark.parametrize("text", ["7410", "2-=70", "1111"])
def test_a_field_without_rules_comes_back_unchanged(text):
    _, plain, _, _ = page("guide", text)
    ink, cleaned, rules = clean(plain)
    assert not rules.mask.any() and rules.segments == () and rules.box is None
    assert np.array_equal(cleaned.mask, ink.mask)
    assert np.array_equal(cleaned.strength, ink.strength)
    assert cleaned.dark_on_light == ink.dark_on_light


def test_light_on_dark_keeps_its_polarity():
    scan, _, _, _ = page("box", "7410", 2.0, False, 0.0)
    ink, cleaned, rules = clean(1.0 - scan)
    assert not ink.dark_on_light and not cleaned.dark_on_light and rules.box is not None


def test_run_lengths_match_a_plain_loop():
    mask = np.random.default_rng(3).random((23, 31)) > 0.4
    for axis in (0, 1):
        lines = mask if axis == 1 else mask.T
        expected = np.zeros(lines.shape, dtype=np.int32)
        for i, line in enumerate(lines):
            j = 0
            while j < line.size:
                if line[j]:
                    k = j
                    while k < line.size and line[k]:
                        k += 1
                    expected[i, j:k] = k - j
                    j = k
                else:
                    j += 1
        assert np.array_equal(run_lengths(mask, axis), expected if axis == 1 else expected.T)


def test_a_wide_field_takes_well_under_a_second():
    """2400 x 250, the reader's largest working field, with a comb of 17 cells: bounded time."""
    scan, _, _, _ = page("comb", "74102" * 3 + "71", 2.0, False, 1.0)
    wide = np.asarray(Image.fromarray(scan).resize((2400, 250), Image.BILINEAR))
    ink = find_ink(wide)
    find_rules(ink)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        remove_rules(ink, find_rules(ink))
        times.append(time.perf_counter() - start)
    assert float(np.median(times)) < 0.5
