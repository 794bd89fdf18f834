"""Batch normalisation that trains in TensorFlow's fused kernel, and loading models that use it.

Keras 3 normalises a training batch with about a dozen separate element-wise ops (moments, then
scale and shift, each with its own gradient). On this project's 2-core CPUs those passes over the
activations cost about half of a training step of the recipe CNN: `solution bench train` measures
the whole step with both layers. TensorFlow's FusedBatchNormV3 does the same arithmetic in one
kernel forward and one backward. Prediction (and so the exported graph) takes Keras' own path
unchanged, and the moving statistics are updated exactly as Keras does, so a saved member is an
ordinary batch-normalised network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

PACKAGE = "digit_recognizer"


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training step runs FusedBatchNormV3 (TensorFlow
    backend, 4-D channels-last input); every other case is Keras' own code."""

    def _fused_applies(self, inputs: Any, training: Any, mask: Any) -> bool:
        return (training is True and self.trainable and mask is None
                and keras.backend.backend() == "tensorflow" and len(inputs.shape) == 4
                and self.axis in (-1, 3) and not self.renorm and not self.synchronized)

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = tf.cast(inputs, "float32")  # as Keras: statistics of bfloat16 input in float32
        channels = x.shape[-1]
        scale = self.gamma if self.scale else tf.ones([channels])
        offset = self.beta if self.center else tf.zeros([channels])
        y, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        # The kernel returns the batch variance with Bessel's correction; Keras' moving variance
        # averages the biased one that normalised the batch.
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), "float32")
        variance = unbiased_variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.cast(y, self.compute_dtype)


def batch_norm_as(model: keras.Model, kind: type) -> keras.Model:
    """The same network and weights with every batch normalisation layer of class `kind`
    (`FusedBatchNormalization` or Keras' own); `model` itself when they all are. A member saved
    before the fused layer existed trains on fast this way, and the bench times Keras' layer."""
    normalising = [layer for layer in model.layers
                   if isinstance(layer, keras.layers.BatchNormalization)]
    if all(type(layer) is kind for layer in normalising):
        return model

    def rebuild(layer: keras.layers.Layer) -> keras.layers.Layer:
        cls = kind if isinstance(layer, keras.layers.BatchNormalization) else layer.__class__
        return cls.from_config(layer.get_config())

    return rebuilt_copy(model, rebuild)


def rebuilt_copy(model: keras.Model,
                 rebuild: Callable[[keras.layers.Layer], keras.layers.Layer]) -> keras.Model:
    """`model` with every layer rebuilt by `rebuild` (same names, so same wiring) and its
    weights copied over: how a member changes layer classes or precision without retraining."""
    copy = keras.models.clone_model(model, clone_function=rebuild)
    copy.set_weights(model.get_weights())
    return copy


def load_model(path: str | Path, compile: bool = True) -> keras.Model:
    """`keras.models.load_model` once this module's layers are registered: every saved member
    goes through here, so a model with `FusedBatchNormalization` always loads."""
    return keras.models.load_model(path, compile=compile)
