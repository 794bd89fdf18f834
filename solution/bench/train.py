"""Training throughput: our tf.data pipeline vs a plain Keras fit with augmentation layers.

Both train the same network on the same images with the same batch size in one process; each
is warmed up, then timed over several short epochs, and the median images/s is reported with
the ratio. Run: `solution bench train --data path/to/digit-recognizer.zip`.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from solution.config import Config
from solution.data.competition import NUM_CLASSES
from solution.models.cnn import build_model
from solution.reporting.tables import Column, Table
from solution.training.augment import Warp, training_dataset
from solution.training.fit import compile_model


def keras_layers_model(cfg: Config):
    """The same network behind Keras' own per-op augmentation layers (the usual notebook way)."""
    import keras
    from keras import layers

    inner = build_model(cfg)
    inputs = keras.Input((28, 28, 1))
    x = layers.RandomRotation(cfg.rotation / 360.0, fill_mode="constant")(inputs)
    x = layers.RandomZoom(cfg.zoom, fill_mode="constant")(x)
    x = layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="constant")(x)
    return keras.Model(inputs, inner(x))


def _images_per_second(fit_epoch, images: int, repeats: int) -> float:
    fit_epoch()  # warm-up: graph tracing, allocator
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        fit_epoch()
        rates.append(images / (time.perf_counter() - started))
    return statistics.median(rates)


def measure(images: np.ndarray, labels: np.ndarray, cfg: Config, steps: int,
            repeats: int) -> dict[str, float]:
    """Images/s of both ways of training, measured in this process, plus their ratio."""
    n = steps * cfg.batch_size
    x, y = images[:n], labels[:n]
    ours = compile_model(build_model(cfg), cfg)
    ds = training_dataset(x, y, cfg.batch_size, 0, Warp(cfg.rotation, cfg.zoom, cfg.shift))
    ours_rate = _images_per_second(
        lambda: ours.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0), n, repeats)
    plain = compile_model(keras_layers_model(cfg), cfg)
    x_float = x[..., None].astype(np.float32) / 255.0
    y_hot = np.eye(NUM_CLASSES, dtype=np.float32)[y]
    plain_rate = _images_per_second(
        lambda: plain.fit(x_float, y_hot, batch_size=cfg.batch_size, epochs=1, verbose=0,
                          shuffle=True), n, repeats)
    return {"pipeline_images_per_s": ours_rate, "keras_layers_images_per_s": plain_rate,
            "ratio": ours_rate / plain_rate}


def pipeline_only_rate(images: np.ndarray, labels: np.ndarray, cfg: Config,
                       batches: int = 300) -> float:
    """Images/s the augmentation pipeline alone delivers (no model): it must never be the limit."""
    ds = training_dataset(images, labels, cfg.batch_size, 0,
                          Warp(cfg.rotation, cfg.zoom, cfg.shift))
    for _ in ds.take(5):
        pass
    started = time.perf_counter()
    for _ in ds.take(batches):
        pass
    return batches * cfg.batch_size / (time.perf_counter() - started)


def throughput_table(batch_size: int, result: dict[str, float], feed: float) -> Table:
    """`measure`'s figures and the pipeline's own rate; pure, so the layout can be checked
    without training."""
    return Table((Column(f"training, recipe CNN, batch {batch_size}"),
                  Column("images/s", "right")),
                 [("tf.data + one vectorised affine warp per batch (ours)",
                   f"{result['pipeline_images_per_s']:,.0f}"),
                  ("Keras fit + RandomRotation/RandomZoom/RandomTranslation layers",
                   f"{result['keras_layers_images_per_s']:,.0f}"),
                  ("**ratio**", f"**{result['ratio']:.2f}x**"),
                  ("augmentation pipeline alone (no model)", f"{feed:,.0f}")])
