"""The fused batch normalisation trains like Keras' own layer, predicts exactly as it does, and
loads from a saved member."""

from __future__ import annotations

import numpy as np
import pytest

from solution.config import Config
from solution.models.cnn import build_model
from solution.models.layers import FusedBatchNormalization, load_model
from solution.training.precision import precision_in_force


def _twin_layers(channels: int, momentum: float = 0.9):
    """A fused layer and Keras' own, built for `channels` with the same (non-trivial) weights."""
    import keras

    rng = np.random.default_rng(1)
    fused = FusedBatchNormalization(momentum=momentum)
    plain = keras.layers.BatchNormalization(momentum=momentum)
    weights = [rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.3, channels),
               rng.normal(0, 0.2, channels), rng.uniform(0.5, 2.0, channels)]
    for layer in (fused, plain):
        layer.build((None, 6, 6, channels))
        layer.set_weights([w.astype(np.float32) for w in weights])
    return fused, plain


def _train_step(layer, x):
    """Output, gradients (input, gamma, beta) of a non-uniform loss, and the moving statistics
    after one training call."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    weights = tf.reshape(tf.range(tf.size(x), dtype=tf.float32) % 7.0, x.shape)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return ([np.asarray(tf.cast(y, tf.float32))] + [np.asarray(g) for g in grads]
            + [np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)])


@pytest.mark.parametrize("precision, tolerance", [("float32", 2e-4), ("bfloat16", 3e-2)])
def test_a_training_step_matches_keras_batch_normalization(precision, tolerance):
    x = np.random.default_rng(0).normal(1.0, 2.0, (8, 6, 6, 5)).astype(np.float32)
    with precision_in_force(precision):
        fused, plain = _twin_layers(5)
        before = np.asarray(fused.moving_variance).copy()
        got, want = _train_step(fused, x), _train_step(plain, x)
    names = ["output", "input gradient", "gamma gradient", "beta gradient", "moving mean",
             "moving variance"]
    for name, a, b in zip(names, got, want, strict=True):
        scale = max(1.0, float(np.abs(b).max()))
        assert np.allclose(a, b, atol=tolerance * scale), name
    assert not np.allclose(got[-1], before)  # the moving statistics did move


def test_inference_and_dense_inputs_take_keras_own_path_exactly():
    rng = np.random.default_rng(2)
    fused, plain = _twin_layers(5)
    images = rng.normal(0, 1, (4, 6, 6, 5)).astype(np.float32)
    assert np.array_equal(np.asarray(fused(images, training=False)),
                          np.asarray(plain(images, training=False)))
    import keras

    dense_fused, dense_plain = FusedBatchNormalization(), keras.layers.BatchNormalization()
    rows = rng.normal(3, 2, (16, 7)).astype(np.float32)
    assert np.array_equal(np.asarray(dense_fused(rows, training=True)),
                          np.asarray(dense_plain(rows, training=True)))


def test_a_saved_cnn_with_fused_layers_loads_and_predicts_the_same(tmp_path):
    model = build_model(Config(width=8, head_width=16))
    assert any(isinstance(layer, FusedBatchNormalization) for layer in model.layers)
    images = np.random.default_rng(3).uniform(0, 1, (5, 28, 28, 1)).astype(np.float32)
    path = tmp_path / "member.keras"
    model.save(path)
    again = load_model(path, compile=False)
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in model.layers]
    assert np.allclose(again.predict(images, verbose=0), model.predict(images, verbose=0),
                       atol=1e-6)


def test_a_model_saved_with_keras_batch_norm_trains_on_in_the_fused_one(tmp_path):
    import keras

    from solution.models.layers import batch_norm_as
    from solution.training.fit import fit_member

    cfg = Config(width=8, head_width=16, epochs=1, batch_size=16)
    fused = build_model(cfg)
    assert batch_norm_as(fused, FusedBatchNormalization) is fused
    old = batch_norm_as(fused, keras.layers.BatchNormalization)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in old.layers)
    images = np.random.default_rng(4).integers(0, 256, (48, 28, 28), dtype=np.uint8)
    labels = np.arange(48) % 10
    floats = images[..., None].astype(np.float32) / 255.0
    assert np.allclose(old.predict(floats, verbose=0), fused.predict(floats, verbose=0),
                       atol=1e-6)
    path = tmp_path / "old.keras"
    old.save(path)
    trained, history = fit_member(cfg, images, labels, images[:16], labels[:16], seed=0,
                                  model=load_model(path))
    assert any(isinstance(layer, FusedBatchNormalization) for layer in trained.layers)
    assert len(history["loss"]) == 1
    assert not np.allclose(trained.get_weights()[0], old.get_weights()[0])  # it did train
