"""`make export NO_SLOWER_THAN=<package>`: the combination of rungs chosen within a package's time.

The choice itself is checked against every combination on random folds; the export on conftest's
real tiny run, priced against that run's own published export (real int8 graphs timed by
onnxruntime), and the refusals that must cost seconds, not fine-tunes.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from export.budget import best_within
from export.pipeline import export_run
from export.refused import ExportRefused
from solution.cli import main as solution_cli
from tests.conftest import FAST, LOOSE_INT8


def _brute_force(folds, budget: float) -> int | None:
    fits = [sum(f[k][0] for f, k in zip(folds, picks, strict=True))
            for picks in itertools.product(*[range(len(f)) for f in folds])
            if sum(f[k][1] for f, k in zip(folds, picks, strict=True)) <= budget]
    return max(fits, default=None)


@pytest.mark.parametrize("seed", range(8))
def test_the_choice_reads_the_most_images_right_that_the_budget_allows(seed):
    """Against every combination of five folds of 2-9 options: the same images right, within
    the budget, the cheapest of the best, and None exactly when nothing fits."""
    rng = np.random.default_rng(seed)
    folds = [[(int(rng.integers(8380, 8400)), float(rng.uniform(40, 120)))
              for _ in range(int(rng.integers(2, 10)))] for _ in range(5)]
    budget = float(rng.uniform(200, 500))
    best = best_within(folds, budget)
    expected = _brute_force(folds, budget)
    if expected is None:
        assert best is None
        return
    assert best is not None and best.right == expected and best.cost <= budget
    chosen = [fold[pick] for fold, (pick,) in zip(folds, best.picks, strict=True)]
    assert sum(right for right, _ in chosen) == best.right
    assert sum(cost for _, cost in chosen) == pytest.approx(best.cost)
    cheapest_best = min(sum(f[k][1] for f, k in zip(folds, picks, strict=True))
                        for picks in itertools.product(*[range(len(f)) for f in folds])
                        if sum(f[k][0] for f, k in zip(folds, picks, strict=True)) == expected)
    assert best.cost == pytest.approx(cheapest_best)


def test_an_impossible_budget_and_a_generous_one():
    folds = [[(10, 5.0), (9, 3.0)]] * 3
    assert best_within(folds, 8.0) is None  # three members at 3 us are 9
    assert best_within(folds, 9.0).right == 27  # all light
    assert best_within(folds, 11.0).right == 28  # one as trained fits
    assert best_within(folds, 100.0).right == 30
    assert best_within([[(10, 0.1 + 0.2)]], 0.3) is not None  # rounding does not refuse


@pytest.mark.slow
def test_an_export_within_its_own_package_time_takes_the_best_combination(
        tiny_run, exported, tmp_path):
    reference, _ = exported
    out = tmp_path / "models"
    result = export_run(tiny_run, out, settings=FAST.replace(no_slower_than=str(reference),
                                                             budget_rounds=2),
                        thresholds=LOOSE_INT8, command="test")
    manifest = json.loads((out / "manifest.json").read_text())
    budget = manifest["speed_budget"]
    price = {tuple(t["widths"]): t["batch_us"] for t in budget["widths_timing"]}
    limit = budget["budget_us"]
    assert limit == pytest.approx(sum(price[tuple(w)] for w in budget["reference_widths"]))
    # one member per fold: a fold's images right are its member's, so the best choice is the
    # best product of the recorded options
    rows = [m["validation_rows"] for m in manifest["members"]]
    folds = [[(round(o["fold_accuracy"] * n), price[tuple(o["widths"])]) for o in options]
             for options, n in zip(budget["options"], rows, strict=True)]
    assert budget["right_chosen"] == _brute_force(folds, limit * (1 + 1e-9))
    assert budget["spent_us"] <= limit * (1 + 1e-9)
    assert budget["right_unpruned"] == sum(f[0][0] for f in folds)
    for member, options in zip(manifest["members"], budget["options"], strict=True):
        as_trained = options[0]["widths"]
        assert member["pruned"] == (member["channels"] != as_trained)
        assert member["channels"] in [o["widths"] for o in options]
        assert "by the speed budget" in member["note"]
    whole = budget["whole_graphs"]
    assert whole["reference"]["images_per_s"] > 0 and whole["exported"]["single_ms"] > 0
    assert "Speed budget against" in result.table_path.read_text()
    from digit_edge import DigitReader

    x = np.zeros((2, 28, 28), np.uint8)
    assert DigitReader(out).classify(x).digits.shape == (2,)  # the edge loads it (sha checked)


@pytest.mark.slow
def test_a_budget_nothing_fits_is_refused_and_publishes_nothing(tiny_run, exported, tmp_path):
    """A reference of one member: five members at any rung cost more."""
    reference = Path(shutil.copytree(exported[0], tmp_path / "one-member"))
    manifest = json.loads((reference / "manifest.json").read_text())
    manifest["members"] = manifest["members"][:1]
    (reference / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "models"
    with pytest.raises(ExportRefused, match="even every member at its lightest rung is slower"):
        export_run(tiny_run, out, settings=FAST.replace(no_slower_than=str(reference),
                                                        budget_rounds=1),
                   thresholds=LOOSE_INT8, command="test")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("broken", ["no manifest", "other network"])
def test_a_reference_that_cannot_be_priced_is_refused_in_one_line(broken, tiny_run, exported,
                                                                   tmp_path):
    reference = Path(shutil.copytree(exported[0], tmp_path / "reference"))
    if broken == "no manifest":
        (reference / "manifest.json").unlink()
        expected = "no manifest: not a published edge models folder"
    else:
        manifest = json.loads((reference / "manifest.json").read_text())
        manifest["members"][0]["arch"] = "m5"
        (reference / "manifest.json").write_text(json.dumps(manifest))
        expected = "is m5 with widths"
    out = tmp_path / "models"
    result = CliRunner().invoke(solution_cli, ["export", "--run", str(tiny_run), "--out",
                                               str(out), "--no-slower-than", str(reference)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and expected in lines[-1]
    assert "Traceback" not in result.output
    assert not out.exists()
