"""The configuration dataclass, the CNN family and the augmentation that stays out of it."""

from __future__ import annotations

import numpy as np
import pytest

from solution.config import Config
from solution.models.cnn import build_model, count_macs
from solution.training.augment import affine_transforms, random_affine, to_float, warp


def test_config_round_trips_and_fingerprint_tracks_values():
    cfg = Config(width=16, channels=(8, 8, 8, 16, 16, 16, 64), label_smoothing=0.1)
    again = Config.from_dict(cfg.to_dict())
    assert again == cfg and again.fingerprint() == cfg.fingerprint()
    assert cfg.replace(dropout=0.3).fingerprint() != cfg.fingerprint()


@pytest.mark.parametrize("field, value", [("dropout", 1.0), ("stages", 4), ("epochs", 0),
                                          ("downsample", "avg"), ("channels", (8, 8))])
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"config field {field}="):
        Config(**{field: value})


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown configuration field"):
        Config.from_dict({"widht": 3})


def test_default_is_the_seven_conv_recipe():
    model = build_model(Config())
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.kernel.shape[0] for c in convs] == [3, 3, 5, 3, 3, 5, 4]
    assert [c.filters for c in convs] == [32, 32, 32, 64, 64, 64, 128]
    assert model.output.shape == (None, 10)
    assert count_macs(model) == 15_162_752


@pytest.mark.parametrize("cfg", [Config(downsample="pool", head="dense", width=8),
                                 Config(stages=3, convs_per_stage=1, width=8, kernel_size=5),
                                 Config(width=8, channels=(3, 5, 7, 9, 11, 13, 20)),
                                 Config(width=8, batch_norm=False)])
def test_variants_build_and_predict_probabilities(cfg):
    model = build_model(cfg)
    probs = model.predict(np.random.default_rng(0).random((4, 28, 28, 1), np.float32), verbose=0)
    assert probs.shape == (4, 10)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    if cfg.channels:
        convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
        assert tuple(c.filters for c in convs) == cfg.channels


def test_model_holds_no_augmentation_or_preprocessing_layers():
    names = {layer.__class__.__name__ for layer in build_model(Config()).layers}
    assert not {n for n in names if n.startswith("Random") or n in {"Rescaling", "Resizing"}}


def _digit_like() -> np.ndarray:
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 8:20, 12:15] = 255  # a vertical bar, like a "1"
    return image


def test_identity_transform_keeps_the_image():
    import tensorflow as tf

    x = to_float(_digit_like())
    same = warp(x, affine_transforms(tf.zeros([1]), tf.ones([1]), tf.zeros([1]), tf.zeros([1])))
    assert np.allclose(same.numpy(), x.numpy(), atol=1e-6)


def test_shift_moves_the_ink_by_the_asked_pixels():
    import tensorflow as tf

    x = to_float(_digit_like())
    moved = warp(x, affine_transforms(tf.zeros([1]), tf.ones([1]), tf.constant([3.0]),
                                      tf.constant([-2.0]))).numpy()[0, ..., 0]
    ys, xs = np.nonzero(moved > 0.5)
    assert xs.min() == 15 and ys.min() == 6


def test_rotation_by_90_degrees_turns_a_bar_sideways():
    import tensorflow as tf

    x = to_float(_digit_like())
    turned = warp(x, affine_transforms(tf.constant([np.pi / 2]), tf.ones([1]), tf.zeros([1]),
                                       tf.zeros([1]))).numpy()[0, ..., 0]
    ys, xs = np.nonzero(turned > 0.5)
    assert np.ptp(xs) > np.ptp(ys)  # horizontal now


def test_random_affine_keeps_range_shape_and_most_ink():
    x = to_float(np.repeat(_digit_like(), 64, axis=0))
    out = random_affine(x, 10.0, 0.1, 0.1).numpy()
    assert out.shape == (64, 28, 28, 1) and out.min() >= 0.0 and out.max() <= 1.0
    ink = out.sum(axis=(1, 2, 3)) / x.numpy().sum(axis=(1, 2, 3))
    assert ink.min() > 0.7 and ink.max() < 1.3
    assert not np.allclose(out[0], out[1])  # each image gets its own transform
