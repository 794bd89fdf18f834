"""The field confidence made honest: the Platt fit, the reliability table, calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from digit_edge.bench import calibration, calibration_error
from digit_edge.calibrate import Platt, fit, from_manifest


def overconfident(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw confidences near 1 for fields that are right only as often as raw ** 8 says."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0.9, 1.0, count)
    return raw, rng.random(count) < raw ** 8


def test_the_fit_makes_an_overconfident_score_honest_on_other_fields():
    raw, right = overconfident(4000, 0)
    platt = fit(raw, right)
    held_raw, held_right = overconfident(4000, 1)
    before = calibration_error(calibration(held_right, held_raw))
    after = calibration_error(calibration(held_right, np.array([platt(r) for r in held_raw])))
    assert before > 0.1 and after < 0.03


def test_the_map_keeps_the_order_and_stays_a_probability():
    platt = fit(*overconfident(500, 2))
    values = [platt(r) for r in np.linspace(0, 1, 101)]
    assert all(0.0 <= v <= 1.0 for v in values) and values == sorted(values)


def test_a_set_that_is_all_right_still_fits_finitely():
    platt = fit(np.full(50, 0.99), np.ones(50, dtype=bool))
    assert np.isfinite(platt.slope) and np.isfinite(platt.offset) and platt(0.99) > 0.9


def test_the_reliability_table_counts_each_band_and_the_error_weighs_them():
    confidence = np.array([0.05, 0.55, 0.58, 0.95, 0.97, 1.0])
    right = np.array([False, True, False, True, True, True])
    rows = calibration(right, confidence)
    assert [r["band"] for r in rows] == ["0.0-0.1", "0.5-0.6", "0.9-1.0"]
    assert [r["count"] for r in rows] == [1, 2, 3] and rows[1]["accuracy"] == 0.5
    expected = (abs(0 - 0.05) + 2 * abs(0.5 - 0.565) + 3 * abs(1 - (0.95 + 0.97 + 1) / 3)) / 6
    assert calibration_error(rows) == pytest.approx(expected)


def test_a_bad_manifest_entry_is_ignored_not_trusted():
    assert from_manifest({"zip": {"slope": 2, "offset": -1}, "amount": {"slope": "x"}}) == \
        {"zip": Platt(2.0, -1.0)}
    assert from_manifest(None) == {}
