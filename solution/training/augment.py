"""tf.data input pipelines: one vectorised random affine warp per training batch.

Rotation, zoom and shift are composed into one 3x3 matrix per image and applied with a single
`ImageProjectiveTransformV3` call for the whole batch, instead of three Keras preprocessing layers
that each resample the batch. The warp runs in the input pipeline, so it never ends up in the
saved or exported model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


ELASTIC_GRID = 4  # control points per side of the random displacement field (smooth at 28 px)


def random_elastic(images, max_pixels: float):
    """Move every pixel of a float batch (B, 28, 28, 1) along a smooth random field.

    The field is uniform noise on a 4x4 grid, upsampled bicubically to 28x28 and scaled to at most
    about `max_pixels`: Simard et al.'s elastic distortion at the cost of four gathers, where a
    Gaussian-blurred per-pixel field would cost a convolution per image.
    """
    import tensorflow as tf

    batch = tf.shape(images)[0]
    coarse = tf.random.uniform([batch, ELASTIC_GRID, ELASTIC_GRID, 2], -1.0, 1.0)
    field = tf.image.resize(coarse, [SIDE, SIDE], method="bicubic") * max_pixels
    pad = 2  # zeros around the image: samples that leave it read black
    flat = tf.reshape(tf.pad(images[..., 0], [[0, 0], [pad, pad], [pad, pad]]), [batch, -1])
    grid = tf.range(SIDE, dtype=tf.float32) + pad
    src_y = tf.clip_by_value(grid[None, :, None] + field[..., 1], 0.0, SIDE + 2 * pad - 1.001)
    src_x = tf.clip_by_value(grid[None, None, :] + field[..., 0], 0.0, SIDE + 2 * pad - 1.001)
    y0, x0 = tf.floor(src_y), tf.floor(src_x)
    wy, wx = src_y - y0, src_x - x0
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    width = SIDE + 2 * pad

    def at(y, x):
        return tf.gather(flat, tf.reshape(y * width + x, [batch, -1]), batch_dims=1)

    top = at(y0, x0) * tf.reshape((1 - wx) * (1 - wy), [batch, -1]) + \
        at(y0, x0 + 1) * tf.reshape(wx * (1 - wy), [batch, -1])
    bottom = at(y0 + 1, x0) * tf.reshape((1 - wx) * wy, [batch, -1]) + \
        at(y0 + 1, x0 + 1) * tf.reshape(wx * wy, [batch, -1])
    return tf.reshape(top + bottom, [batch, SIDE, SIDE, 1])


@dataclass(frozen=True)
class Warp:
    """The random geometric augmentation of training batches (`Config` fields of the same name)."""

    rotation: float = 0.0  # degrees
    zoom: float = 0.0
    shift: float = 0.0  # fraction of the side
    elastic: float = 0.0  # pixels

    def __call__(self, images):
        if self.rotation > 0 or self.zoom > 0 or self.shift > 0:
            images = random_affine(images, self.rotation, self.zoom, self.shift)
        if self.elastic > 0:
            images = random_elastic(images, self.elastic)
        return images


def training_dataset(images: np.ndarray, targets: np.ndarray, batch_size: int, seed: int,
                     warp: Warp = Warp()) -> tf.data.Dataset:
    """Shuffled, augmented batches that repeat forever (fit with steps_per_epoch).

    `targets` are class indices (N,) (one-hot encoded here) or class probabilities (N, 10).
    """
    import tensorflow as tf

    soft = targets.ndim == 2

    def prepare(x, y):
        return warp(to_float(x)), (y if soft else tf.one_hot(y, NUM_CLASSES))

    ds = tf.data.Dataset.from_tensor_slices(
        (images, targets.astype(np.float32 if soft else np.int32)))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


EVAL_BATCH = 512  # validation batches: big, as nothing is kept for a backward pass


def eval_dataset(images: np.ndarray, labels: np.ndarray | None = None,
                 batch_size: int = EVAL_BATCH) -> tf.data.Dataset:
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
