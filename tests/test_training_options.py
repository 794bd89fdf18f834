"""Issue 12's training options: precision by the CPU's flags, the cosine schedule, elastic
distortion and the two-round (pseudo-label / distillation) members."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import numpy as np
import pytest

from solution.config import Config
from solution.data.competition import load_competition
from solution.profiles import get_profile
from solution.training.augment import random_elastic, to_float
from solution.training.cv import run_cv, second_round_config, second_round_targets
from solution.training.fit import WARMUP_START, learning_rate
from solution.training.precision import (
    cpu_flags,
    current_precision,
    float32_copy,
    precision_in_force,
    resolve_precision,
)

# --- precision --------------------------------------------------------------------------------

def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_bf16\nbogomips\t: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize("flags, chosen", [({"avx2", "amx_bf16", "amx_tile"}, "bfloat16"),
                                           ({"avx2", "avx512f", "avx512_bf16"}, "bfloat16"),
                                           ({"avx2", "avx512f"}, "float32"), (set(), "float32")])
def test_auto_precision_follows_what_the_cpu_reports(flags, chosen):
    assert resolve_precision("auto", frozenset(flags)) == chosen
    assert resolve_precision("float32", frozenset(flags)) == "float32"  # asked for, not guessed
    assert resolve_precision("bfloat16", frozenset(flags)) == "bfloat16"


def test_unknown_precision_is_refused_by_name():
    with pytest.raises(ValueError, match="--precision 'fp8'"):
        resolve_precision("fp8", frozenset())


def test_a_bfloat16_member_is_exported_as_the_same_float32_network(tmp_path):
    import keras

    from solution.models.zoo import create_model

    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    with precision_in_force("bfloat16"):
        assert current_precision() == "bfloat16"
        model = create_model(Config(width=8, head_width=16))
        assert model.output.dtype == "float32"  # probabilities stay float32 in bfloat16 training
        model.save(tmp_path / "member.keras")
    assert current_precision() == "float32"  # restored on leaving
    loaded = keras.models.load_model(tmp_path / "member.keras", compile=False)
    assert any(layer.dtype_policy.compute_dtype == "bfloat16" for layer in loaded.layers)
    copy = float32_copy(loaded)
    assert all(layer.dtype_policy.compute_dtype == "float32" for layer in copy.layers)
    for kept, original in zip(copy.get_weights(), loaded.get_weights(), strict=True):
        assert np.array_equal(kept, original)  # bfloat16 training keeps float32 weights
    # the float32 copy computes what the bfloat16 network approximates
    assert np.abs(copy.predict(x, verbose=0) - loaded.predict(x, verbose=0)).max() < 0.02
    assert float32_copy(copy) is copy  # a float32 model is returned as it is


# --- schedule ---------------------------------------------------------------------------------

def test_cosine_schedule_warms_up_then_decays_to_zero():
    cfg = Config(schedule="cosine", warmup=1.0, learning_rate=2e-3, epochs=4)
    rate = learning_rate(cfg, steps_per_epoch=10)
    values = [float(rate(step)) for step in range(41)]
    assert values[0] == pytest.approx(2e-3 * WARMUP_START)
    assert values[10] == pytest.approx(2e-3)  # the peak, at the end of the warm-up epoch
    assert all(a < b for a, b in pairwise(values[:11]))  # rising
    assert all(a >= b for a, b in pairwise(values[10:]))  # falling
    assert values[40] == pytest.approx(0.0, abs=1e-9)
    assert learning_rate(Config(), 10) == Config().learning_rate  # exponential: a callback's


@pytest.mark.parametrize("field, value", [("warmup", 30.0), ("schedule", "linear"),
                                          ("elastic", -1.0), ("second_round", "teacher"),
                                          ("second_round_epochs", -1), ("clean_epochs", -1),
                                          ("clean_learning_rate", 0.0)])
def test_new_fields_refuse_bad_values_by_name(field, value):
    with pytest.raises(ValueError, match=f"config field {field}="):
        Config(**{field: value})


def test_second_round_needs_epochs():
    with pytest.raises(ValueError, match="second_round_epochs"):
        Config(second_round="pseudo", second_round_epochs=0)


# --- elastic distortion -----------------------------------------------------------------------

def _dot_images(count: int) -> np.ndarray:
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 13:15, 13:15] = 255
    return images


def test_elastic_distortion_moves_ink_a_little_and_keeps_the_range():
    x = to_float(_dot_images(64))
    assert np.allclose(random_elastic(x, 0.0).numpy(), x.numpy(), atol=1e-6)
    out = random_elastic(x, 2.0).numpy()[..., 0]
    assert out.shape == (64, 28, 28) and out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert not np.allclose(out[0], out[1])  # each image its own field
    for image in out:
        ys, xs = np.nonzero(image > 0.05)
        # the 2x2 dot at 13..14 moves by at most the field's size (bicubic can overshoot a bit)
        assert ys.min() >= 13 - 4 and ys.max() <= 14 + 4
        assert xs.min() >= 13 - 4 and xs.max() <= 14 + 4
    moved = np.mean([np.abs(img - x.numpy()[0, ..., 0]).sum() > 0.5 for img in out])
    assert moved > 0.9


# --- second round -----------------------------------------------------------------------------

def test_second_round_targets_are_true_labels_then_the_first_round_reading():
    test_probs = np.array([[0.1, 0.7, 0.2] + [0.0] * 7, [0.0] * 9 + [1.0]], np.float32)
    train_labels = np.array([3, 0])
    pseudo = second_round_targets(Config(second_round="pseudo", second_round_epochs=1),
                                  train_labels, test_probs)
    assert pseudo.shape == (4, 10)
    assert pseudo[:2].argmax(1).tolist() == [3, 0] and pseudo[:2].max(1).tolist() == [1, 1]
    assert pseudo[2].tolist() == np.eye(10)[1].tolist()  # argmax, one-hot
    distil = second_round_targets(Config(second_round="distil", second_round_epochs=1),
                                  train_labels, test_probs)
    assert np.allclose(distil[2:], test_probs)  # the probabilities themselves
    second = second_round_config(Config(second_round="distil", second_round_epochs=3,
                                        learning_rate=2e-3))
    assert (second.epochs, second.schedule, second.learning_rate, second.second_round) == (
        3, "cosine", 1e-3, "off")


def test_two_round_member_learns_from_its_own_first_round_and_resumes(small_zip, tmp_path):
    comp = load_competition(small_zip)
    cfg = get_profile("smoke").apply(Config()).replace(epochs=1, second_round="pseudo",
                                                        second_round_epochs=1)
    lines: list[str] = []
    result = run_cv(cfg, comp, tmp_path / "run", folds=[0], log=lines.append)
    from solution.runfolder import RunFolder

    files = RunFolder(tmp_path / "run").member(0, 0)
    info = json.loads(files.info.read_text())
    assert files.first_round.is_file() and 0.0 <= info["first_round_accuracy"] <= 1.0
    assert len(info["history"]["loss"]) == 2  # one epoch per round
    assert info["precision"] == "float32"
    assert result.test_probs is not None and result.test_probs.shape == (len(comp.test_images), 10)
    # interrupted in round two: the finished first round is reused, not trained again
    files.info.unlink()
    lines.clear()
    run_cv(cfg, comp, tmp_path / "run", folds=[0], log=lines.append)
    assert any("reusing the finished first round" in line for line in lines)
    assert sum(bool(re.search(r"epoch +\d+/", line)) for line in lines) == 1  # round two only


def test_the_report_says_where_second_round_labels_came_from():
    from solution.reporting.run_report import how_trained

    cfg = Config(second_round="pseudo", second_round_epochs=8, epochs=24, tta=True).to_dict()
    text = how_trained({"config": cfg, "precision": "bfloat16"})
    assert "Trained in bfloat16" in text and "TTA" in text
    assert "24 epochs" in text and "8 more" in text and "pseudo-labels" in text
    assert "only from fold k's own first round" in text
    clean = how_trained({"config": Config(clean_epochs=1).to_dict(),
                         "before_clean_epochs": {"accuracy": 0.995, "errors": 210}})
    assert "1 clean epoch(s)" in clean and "0.0001 to 0" in clean and "0.99500 (210 wrong)" in clean
    plain = how_trained({"config": Config().to_dict()})
    assert plain == "Trained in float32."


# --- clean epochs -----------------------------------------------------------------------------

def test_clean_epochs_go_on_without_the_warp_at_their_own_low_rate():
    from solution.training.cv import clean_config

    cfg = get_profile("default").apply(Config()).replace(clean_epochs=2, clean_learning_rate=5e-5)
    clean = clean_config(cfg)
    assert (clean.epochs, clean.schedule, clean.warmup, clean.learning_rate) == (
        2, "cosine", 0.0, 5e-5)
    assert (clean.rotation, clean.zoom, clean.shift, clean.elastic) == (0, 0, 0, 0)
    assert (clean.second_round, clean.clean_epochs) == ("off", 0)
    # the network is the member's own: nothing that shapes it changes
    assert (clean.width, clean.dropout, clean.batch_size) == (cfg.width, cfg.dropout,
                                                               cfg.batch_size)


def test_clean_epochs_change_the_run_folder_only_when_there_are_some():
    cfg = get_profile("default").apply(Config()).replace(clean_epochs=0)
    # off, its learning rate trains nothing: the folder (and its members) stay the same
    assert cfg.replace(clean_learning_rate=3e-4).fingerprint() == cfg.fingerprint()
    on = cfg.replace(clean_epochs=1)
    assert on.fingerprint() != cfg.fingerprint()
    assert on.replace(clean_learning_rate=3e-4).fingerprint() != on.fingerprint()


def test_a_member_with_a_clean_epoch_keeps_its_reading_from_before_it(small_zip, tmp_path):
    from solution.reporting.member_count import before_clean_oof, stored_members
    from solution.runfolder import RunFolder

    comp = load_competition(small_zip)
    cfg = get_profile("smoke").apply(Config()).replace(epochs=1, second_round="distil",
                                                        second_round_epochs=1, clean_epochs=1)
    lines: list[str] = []
    result = run_cv(cfg, comp, tmp_path / "run", folds=[0, 1], predict_test=False,
                    log=lines.append)
    run = RunFolder(tmp_path / "run")
    info = json.loads(run.member(0, 0).info.read_text())
    assert len(info["history"]["loss"]) == 3  # first round, second round, clean epoch
    assert 0.0 <= info["before_clean_accuracy"] <= 1.0
    assert sum(bool(re.search(r"epoch +\d+/", line)) for line in lines) == 6
    stored = np.load(run.member(0, 0).probs)
    before, after = stored["val_probs_before_clean"], stored["val_probs"]
    assert before.shape == after.shape and not np.allclose(before, after)  # it trained
    members = stored_members(run, 1)
    oof = before_clean_oof(members, comp.train_labels)
    right = []
    for fold in (0, 1):
        probs = np.load(run.member(fold, 0).probs)
        right.append(probs["val_probs_before_clean"].argmax(1)
                     == comp.train_labels[probs["val_index"]])
    expected = np.concatenate(right)
    assert oof is not None and oof["errors"] == int((~expected).sum())
    assert oof["accuracy"] == pytest.approx(expected.mean())
    assert result.covered.sum() == len(expected)
