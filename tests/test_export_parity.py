"""Every parity threshold is enforced by its check; small export helpers do what they promise."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from export.calibration import ImageReader, calibration_images
from export.confidence import recommend_min_confidence
from export.parity import (
    Thresholds,
    failures,
    fp32_checks,
    int8_checks,
    pruning_check,
    sanity_checks,
    thresholds_for,
)
from export.publish import publish

RNG = np.random.default_rng(0)


def _probs(n: int, rng=RNG) -> np.ndarray:
    logits = rng.normal(0, 3, (n, 10))
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def test_thresholds_are_the_issues_numbers_and_frozen():
    t = Thresholds()
    assert (t.fp32_max_abs_diff, t.fp32_min_images, t.int8_min_agreement, t.int8_max_drop_pp,
            t.pruned_max_drop_pp) == (1e-4, 2000, 0.998, 0.1, 0.05)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.int8_min_agreement = 0.5  # type: ignore[misc]
    assert thresholds_for("default") == t
    smoke = thresholds_for("smoke")
    assert smoke.fp32_max_abs_diff == t.fp32_max_abs_diff
    assert smoke.pruned_max_drop_pp == t.pruned_max_drop_pp
    assert smoke.int8_min_agreement < t.int8_min_agreement


def test_fp32_checks_enforce_diff_argmax_and_image_count():
    keras = _probs(2000)
    assert not failures(fp32_checks(keras, keras + 5e-5, Thresholds()))
    names = {c.name for c in failures(fp32_checks(keras, keras + 2e-4, Thresholds()))}
    assert names == {"fp32 vs Keras max abs(dp)"}
    flipped = keras.copy()
    flipped[0] = np.roll(flipped[0], 1)
    assert "fp32 vs Keras argmax differences" in {
        c.name for c in failures(fp32_checks(keras, flipped, Thresholds()))}
    assert {c.name for c in failures(fp32_checks(keras[:1999], keras[:1999], Thresholds()))} \
        == {"fp32 parity images"}
    nan = keras.copy()
    nan[5, 5] = np.nan  # a NaN must fail, not slip through a comparison
    assert failures(fp32_checks(keras, nan, Thresholds()))


def test_int8_checks_enforce_agreement_and_accuracy_drop():
    labels = np.arange(1000) % 10
    keras = np.eye(10, dtype=np.float32)[labels] * 0.9 + 0.01
    int8 = keras.copy()
    int8[:2] = np.roll(int8[:2], 1, axis=1)  # 2 of 1000 flipped: 99.8% agreement, 0.2 pp drop
    names = {c.name for c in failures(int8_checks(keras, int8, labels, Thresholds()))}
    assert names == {"int8 accuracy drop, pp (OOF)"}
    relaxed = Thresholds(int8_max_drop_pp=0.2)
    assert not failures(int8_checks(keras, int8, labels, relaxed))
    int8[:3] = np.roll(keras[:3], 1, axis=1)
    names = {c.name for c in failures(int8_checks(keras, int8, labels, relaxed))}
    assert "int8 vs Keras argmax agreement (OOF)" in names


def test_pruning_check_enforces_its_drop():
    labels = np.arange(10000) % 10
    unpruned = np.eye(10, dtype=np.float32)[labels]
    pruned = unpruned.copy()
    pruned[:5] = np.roll(pruned[:5], 1, axis=1)  # 0.05 pp: allowed
    assert pruning_check(unpruned, pruned, labels, Thresholds()).passed
    pruned[:6] = np.roll(unpruned[:6], 1, axis=1)  # 0.06 pp: refused
    assert not pruning_check(unpruned, pruned, labels, Thresholds()).passed


def test_sanity_checks_catch_unnormalised_rows_and_batch_dependence():
    probs = _probs(10)
    assert not failures(sanity_checks("x", probs, probs[:1], Thresholds()))
    assert failures(sanity_checks("x", probs * 1.01, probs[:1] * 1.01, Thresholds()))
    assert failures(sanity_checks("x", probs, probs[1:2], Thresholds()))


def test_calibration_images_are_class_balanced_training_images():
    labels = np.repeat(np.arange(10), [500] + [50] * 9)
    images = np.repeat(labels[:, None, None], 28, 1).repeat(28, 2).astype(np.uint8)
    picked = calibration_images(images, labels, 300)
    assert picked.shape == (300, 28, 28, 1) and picked.dtype == np.float32
    counts = np.bincount(np.rint(picked[:, 0, 0, 0] * 255).astype(int), minlength=10)
    assert counts.max() - counts.min() <= 1  # 30 of each despite the skewed labels


@pytest.mark.parametrize("count", [300, 97, 1])
def test_calibration_reader_gives_equal_batches_covering_every_image(count):
    reader = ImageReader(np.zeros((count, 28, 28), np.uint8))
    batches = list(iter(reader.get_next, None))
    assert sum(len(b["image"]) for b in batches) == count
    assert len({len(b["image"]) for b in batches}) == 1


def test_min_confidence_reaches_the_target_or_says_zero():
    labels = np.arange(1000) % 10
    probs = np.full((1000, 10), 0.01, np.float32)
    probs[np.arange(1000), labels] = 0.91
    wrong = np.arange(20)
    probs[wrong] = 0.01
    probs[wrong, (labels[wrong] + 1) % 10] = 0.5  # 20 wrong answers, all unsure
    threshold, acc, share, reached = recommend_min_confidence(probs, labels)
    assert reached and 0.5 < threshold <= 0.91 and acc == 1.0 and share == 0.98
    threshold, _, _, reached = recommend_min_confidence(_probs(1000), labels)
    assert (threshold, reached) == (0.0, False)


def test_publish_replaces_every_file_or_leaves_the_folder_alone(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    (out / "a.onnx").write_text("old a")
    (out / "manifest.json").write_text(json.dumps({"old": True}))
    new = tmp_path / "new"
    new.mkdir()
    (new / "a.onnx").write_text("new a")
    (new / "manifest.json").write_text("{}")
    with pytest.raises(FileNotFoundError):
        publish([new / "a.onnx", new / "missing.onnx", new / "manifest.json"], out)
    assert (out / "a.onnx").read_text() == "old a"
    assert json.loads((out / "manifest.json").read_text()) == {"old": True}
    placed = publish([new / "a.onnx", new / "manifest.json"], out)
    assert [p.name for p in placed] == ["a.onnx", "manifest.json"]
    assert (out / "a.onnx").read_text() == "new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "new"]  # no staging left
