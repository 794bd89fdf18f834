"""Baselines: k-NN under the shared folds, oversampling, class balance and the comparison table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from solution.baselines.balance import balance_markdown, class_counts, oversample
from solution.baselines.knn import KnnSettings, knn_cv, neighbours, vote
from solution.cli import main
from solution.data.competition import load_competition
from solution.training.folds import stratified_folds


@pytest.fixture(scope="module")
def small_comp(small_zip):
    return load_competition(small_zip)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_vote_matches_scikit_learn(weights):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.integers(0, 10, 200)
    query = np.vstack([rng.normal(size=(30, 5)), x[:3]])  # the last three match a point exactly
    near_y, near_d = neighbours(x, y, query, 5)
    expected = KNeighborsClassifier(5, weights=weights, algorithm="brute").fit(x, y)
    assert np.allclose(vote(near_y, near_d, 5, weights), expected.predict_proba(query), atol=1e-6)


def test_knn_runs_on_the_shared_folds_and_resumes(small_comp, tmp_path):
    settings = KnnSettings(components=20, neighbors=(1, 3, 5))
    result = knn_cv(small_comp, settings, tmp_path, folds=[0, 2])
    splits = stratified_folds(small_comp.train_labels)
    assert np.array_equal(np.flatnonzero(result.covered),
                          np.sort(np.concatenate([splits[0][1], splits[2][1]])))
    assert set(result.fold_accuracies) == {0, 2}
    assert min(result.fold_accuracies.values()) > 0.6  # 320 training digits; chance is 0.1
    for fold in result.folds:
        assert fold["k"] in (1, 3, 5) and fold["weights"] in ("uniform", "distance")
        assert len(fold["inner_scores"]) == 6 and fold["predict_ms_per_1000"] > 0
    info = tmp_path / result.run_dir.name / "fold0.json"
    stamp = info.stat().st_mtime_ns
    again = knn_cv(small_comp, settings, tmp_path, folds=[0, 2])
    assert info.stat().st_mtime_ns == stamp
    assert np.array_equal(again.oof_probs, result.oof_probs, equal_nan=True)


@pytest.mark.parametrize("method", ["random", "smote"])
def test_oversampling_balances_the_training_rows_only_when_asked(method):
    pytest.importorskip("imblearn")
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), [30, 20, 25, 30, 30, 12, 30, 30, 30, 30])
    features = rng.normal(size=(len(labels), 8))
    x, y = oversample(features, labels, method, seed=0)
    assert class_counts(y) == [30] * 10 and x.shape == (300, 8)
    assert oversample(features, labels, "none", 0)[0] is features


def test_class_balance_table():
    labels = np.array([0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9])
    assert class_counts(labels) == [2, 1, 3, 1, 1, 1, 1, 1, 1, 1]
    text = balance_markdown(labels, "train.csv")
    assert "| rows | 2 | 1 | 3 |" in text and "1 to 3 per digit" in text


@pytest.mark.slow
def test_table_cli_measures_knn_and_a_network_on_the_same_rows(small_zip, tmp_path):
    args = ["baselines", "--data", str(small_zip), "--profile", "smoke", "--models", "knn,mlp512",
            "--oversample", "none,random", "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / "runs" / "baselines" / "baselines-smoke.json").read_text())
    rows = {(r["model"], r["oversample"]): r for r in table["rows"]}
    assert set(rows) == {("knn", "none"), ("knn", "random"), ("mlp512", "none")}
    for row in rows.values():
        assert row["rows"] == 400 and 0.1 < row["oof_accuracy"] <= 1
        assert row["parameters"] > 0 and row["macs"] > 0 and row["predict_ms_per_1000"] > 0
    assert rows["mlp512", "none"]["parameters"] == 784 * 512 + 512 * 256 + 256 * 128 + 1290 + \
        4 * (512 + 256 + 128)  # bias-free dense layers with BN (gamma, beta, mean, variance)
    markdown = (tmp_path / "runs" / "baselines" / "baselines-smoke.md").read_text()
    assert "| mlp512 |" in markdown and "Class balance" in markdown
    assert "| model | parameters | MACs / image | OOF accuracy | macro F1 |" in result.output
    # a later call for another model adds its row and keeps the others
    more = CliRunner().invoke(main, [*args[:5], "--models", "lenet5", *args[9:]],
                              catch_exceptions=False)
    assert more.exit_code == 0, more.output
    later = json.loads((tmp_path / "runs" / "baselines" / "baselines-smoke.json").read_text())
    assert [(r["model"], r["oversample"]) for r in later["rows"]] == [
        ("knn", "none"), ("knn", "random"), ("mlp512", "none"), ("lenet5", "none")]
    assert later["rows"][0] == table["rows"][0]


def test_table_cli_refuses_an_unknown_model_in_one_line(small_zip, tmp_path):
    result = CliRunner().invoke(main, ["baselines", "--data", str(small_zip), "--models",
                                       "knn,svm", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith(
        "error: Invalid value for '--models': unknown name 'svm' in 'knn,svm'; choose from knn,")
    assert len(result.output.strip().splitlines()) == 1


CHECKED_OPTIONS = ("label smoothing 0.1", "EMA of weights 0.99", "2x epochs",
                   "TTA (5 one-pixel views)", "bfloat16 training",
                   "pseudo-labels: 2nd round of 1/3 the epochs")


@pytest.mark.slow
def test_options_and_ensembles_are_measured_on_the_same_rows_and_shown_in_the_report(
        small_zip, tmp_path):
    from solution.reporting.run_report import comparison_html

    runs = tmp_path / "runs"
    args = ["options", "--data", str(small_zip), "--profile", "smoke", "--runs-dir", str(runs),
            "--precision", "float32", "--only", ",".join(CHECKED_OPTIONS),
            "--ensembles", "cnn*2,cnn+mlp512"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = json.loads((runs / "baselines" / "options-smoke.json").read_text())
    options = {r["model"]: r for r in table["rows"]}
    assert list(options) == ["default", *CHECKED_OPTIONS]  # smoke records no previous default
    ensembles = json.loads((runs / "baselines" / "ensembles-smoke.json").read_text())["rows"]
    assert all(r["rows"] == 400 for r in [*options.values(), *ensembles])
    tta, default = options["TTA (5 one-pixel views)"], options["default"]
    assert (tta["run"], tta["train_seconds"]) == (default["run"], default["train_seconds"])
    assert tta["oof_accuracy"] != default["oof_accuracy"]  # really re-predicted, 5 views
    configs = {name: json.loads((runs / r["run"] / "config.json").read_text())
               for name, r in options.items()}
    assert configs["2x epochs"]["epochs"] == 2 * configs["default"]["epochs"]
    assert configs["EMA of weights 0.99"]["ema_momentum"] == 0.99
    assert configs["label smoothing 0.1"]["label_smoothing"] == 0.1
    assert configs["pseudo-labels: 2nd round of 1/3 the epochs"]["second_round"] == "pseudo"
    bf16 = options["bfloat16 training"]
    assert bf16["run"] == default["run"] + "-bf16"  # same configuration, its own members
    assert json.loads((runs / bf16["run"] / "members" / "fold0_seed0.json").read_text())[
        "precision"] == "bfloat16"
    assert len({r["run"] for r in options.values()}) == 6  # TTA reuses the default run
    homogeneous, heterogeneous = ensembles
    assert (homogeneous["model"], homogeneous["note"]) == ("cnn*2", "homogeneous")
    assert len(list((runs / homogeneous["run"] / "members").glob("*.keras"))) == 10
    assert heterogeneous["run"].split(", ")[0] == default["run"]  # the default CNN is reused
    assert heterogeneous["train_seconds"] > default["train_seconds"]
    markdown = (runs / "baselines" / "options-smoke.md").read_text()
    assert "| default | " in markdown and "(the profile now)" in markdown
    assert "vs default" in markdown
    assert "| cnn+mlp512 | heterogeneous | 2 |" in (runs / "baselines" /
                                                  "ensembles-smoke.md").read_text()
    shown = comparison_html(runs)  # what every run report in `runs` shows
    assert "<h3>Training options (smoke)</h3>" in shown and "<h3>Ensembles (smoke)</h3>" in shown
    assert ">cnn+mlp512</td>" in shown and ">OOF accuracy</th>" in shown
    # ensembles alone leave the options table as it was
    again = CliRunner().invoke(main, [*args[:-1], "cnn*2", "--no-options"],
                               catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert (runs / "baselines" / "options-smoke.md").read_text() == markdown
    assert "cnn+mlp512" not in (runs / "baselines" / "ensembles-smoke.md").read_text()
    assert ">cnn*2</td>" in comparison_html(runs)


def test_ensemble_names_are_checked_in_one_line():
    from solution.baselines.options import parse_ensembles

    assert parse_ensembles("cnn*3, m5+m7") == [("cnn*3", (("cnn", 3),)),
                                                ("m5+m7", (("m5", 1), ("m7", 1)))]
    for bad in ("resnet", "cnn*0", "cnn*x", "cnn+cnn", " , "):
        with pytest.raises(ValueError, match="--ensembles"):
            parse_ensembles(bad)


def test_options_are_selected_by_name_with_the_default_first():
    from solution.baselines.options import OPTIONS, select_options

    assert select_options(None) == OPTIONS
    chosen = select_options(("2x epochs", "default", "label smoothing 0.1"))
    assert [o.name for o in chosen] == ["default", "previous default", "2x epochs",
                                        "label smoothing 0.1"]
    result = CliRunner().invoke(main, ["options", "--only", "2x epochs,dropout"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: Invalid value for '--only': unknown name 'dropout' in '2x epochs,dropout'; "
        "choose from " + ", ".join(o.name for o in OPTIONS))
