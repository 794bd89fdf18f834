"""tf.data input pipelines: one vectorised random affine warp per training batch.

Rotation, zoom and shift are composed into one 3x3 matrix per image and applied with a single
`ImageProjectiveTransformV3` call for the whole batch, instead of three Keras preprocessing layers
that each resample the batch. The warp runs in the input pipeline, so it never ends up in the
saved or exported model.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from solution.data.competition import NUM_CLASSES

if TYPE_CHECKING:
    import tensorflow as tf

SIDE = 28


def affine_transforms(angle_rad, scale, shift_x, shift_y):
    """Projective transform rows (B, 8) mapping output pixels to input pixels.

    Output point p maps to input point A (p - c) + c - t, with A = R(angle) / scale, so content is
    rotated by `angle`, magnified by `scale` and moved by `t` (pixels), all about the centre c.
    """
    import tensorflow as tf

    centre = (SIDE - 1) / 2.0
    cos, sin = tf.cos(angle_rad) / scale, tf.sin(angle_rad) / scale
    a2 = centre - shift_x - cos * centre + sin * centre
    b2 = centre - shift_y - sin * centre - cos * centre
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)


def warp(images, transforms):
    """Resample (B, 28, 28, 1) float images with per-image transforms (B, 8); black fill."""
    import tensorflow as tf

    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([SIDE, SIDE]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")


def random_affine(images, rotation_deg: float, zoom: float, shift: float):
    """Warp a float batch (B, 28, 28, 1) with one random affine transform per image."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    max_angle = rotation_deg * math.pi / 180.0
    angle = tf.random.uniform([batch], -max_angle, max_angle)
    scale = tf.random.uniform([batch], 1.0 - zoom, 1.0 + zoom)
    shifts = tf.random.uniform([2, batch], -shift * SIDE, shift * SIDE)
    return warp(images, affine_transforms(angle, scale, shifts[0], shifts[1]))


def to_float(images_uint8):
    """(B, 28, 28) uint8 -> (B, 28, 28, 1) float32 in 0..1, the model's input contract."""
    import tensorflow as tf

    return tf.cast(images_uint8, tf.float32)[..., None] / 255.0


def training_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
                     rotation: float, zoom: float, shift: float) -> tf.data.Dataset:
    """Shuffled, augmented, one-hot batches that repeat forever (fit with steps_per_epoch)."""
    import tensorflow as tf

    augment = rotation > 0 or zoom > 0 or shift > 0

    def prepare(x, y):
        x = to_float(x)
        if augment:
            x = random_affine(x, rotation, zoom, shift)
        return x, tf.one_hot(y, NUM_CLASSES)

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def eval_dataset(images: np.ndarray, labels: np.ndarray | None = None,
                 batch_size: int = 512) -> tf.data.Dataset:
    """Plain batches in order, for validation and prediction."""
    import tensorflow as tf

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images).batch(batch_size).map(to_float)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
        ds = ds.batch(batch_size).map(lambda x, y: (to_float(x), tf.one_hot(y, NUM_CLASSES)))
    return ds.prefetch(tf.data.AUTOTUNE)


TTA_SHIFTS = ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))


def tta_views(images_float, shift_x: float, shift_y: float):
    """The batch moved by whole pixels: a fixed, label-preserving view for test-time averaging."""
    import tensorflow as tf

    batch = tf.shape(images_float)[0]
    ones = tf.ones([batch])
    return warp(images_float, affine_transforms(0.0 * ones, ones, shift_x * ones, shift_y * ones))
