"""Training throughput: our tf.data pipeline vs a plain Keras fit with augmentation layers, and
our fused batch normalisation vs Keras' own.

All train the same network on the same images with the same batch size in one process; each
is warmed up, then timed over several short epochs taken in turns, and the median images/s is
reported with the ratios. Run: `solution bench train --data path/to/digit-recognizer.zip`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

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


def interleaved_rates(epochs: dict[str, Callable[[], object]], images: int,
                      repeats: int) -> dict[str, float]:
    """Median images/s of each way of training. The ways take turns, one epoch each per round,
    so a slower spell of a shared CPU falls on all of them alike instead of on whichever ran
    then."""
    for fit_epoch in epochs.values():
        fit_epoch()  # warm-up: graph tracing, allocator
    seconds: dict[str, list[float]] = {name: [] for name in epochs}
    for _ in range(repeats):
        for name, fit_epoch in epochs.items():
            started = time.perf_counter()
            fit_epoch()
            seconds[name].append(time.perf_counter() - started)
    return {name: images / statistics.median(spent) for name, spent in seconds.items()}


def measure(images: np.ndarray, labels: np.ndarray, cfg: Config, steps: int,
            repeats: int) -> dict[str, float]:
    """Images/s of three ways of training the same network, measured in turns in this process:
    ours, Keras' augmentation layers instead of our pipeline, and Keras' batch normalisation
    instead of the fused one; plus the two ratios."""
    import keras

    from solution.models.layers import batch_norm_as

    n = steps * cfg.batch_size
    x, y = images[:n], labels[:n]
    ds = training_dataset(x, y, cfg.batch_size, 0, Warp(cfg.rotation, cfg.zoom, cfg.shift))
    ours = compile_model(build_model(cfg), cfg)
    keras_bn = compile_model(batch_norm_as(build_model(cfg), keras.layers.BatchNormalization),
                             cfg)
    layers = compile_model(keras_layers_model(cfg), cfg)
    x_float = x[..., None].astype(np.float32) / 255.0
    y_hot = np.eye(NUM_CLASSES, dtype=np.float32)[y]
    rates = interleaved_rates({
        # shuffle=False: the pipeline shuffles (Keras would only warn that it ignores True)
        "pipeline": lambda: ours.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0,
                                     shuffle=False),
        "keras_layers": lambda: layers.fit(x_float, y_hot, batch_size=cfg.batch_size,
                                           epochs=1, verbose=0, shuffle=True),
        "keras_bn": lambda: keras_bn.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0,
                                         shuffle=False),
    }, n, repeats)
    return {"pipeline_images_per_s": rates["pipeline"],
            "keras_layers_images_per_s": rates["keras_layers"],
            "keras_bn_images_per_s": rates["keras_bn"],
            "ratio": rates["pipeline"] / rates["keras_layers"],
            "fused_bn_ratio": rates["pipeline"] / rates["keras_bn"]}


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


def throughput_table(batch_size: int, precision: str, result: dict[str, float],
                     feed: float) -> Table:
    """`measure`'s figures and the pipeline's own rate; pure, so the layout can be checked
    without training."""
    return Table((Column(f"training, default profile's CNN, batch {batch_size}, {precision}"),
                  Column("images/s", "right")),
                 [("tf.data + one vectorised affine warp per batch (ours)",
                   f"{result['pipeline_images_per_s']:,.0f}"),
                  ("Keras fit + RandomRotation/RandomZoom/RandomTranslation layers",
                   f"{result['keras_layers_images_per_s']:,.0f}"),
                  ("**ratio**", f"**{result['ratio']:.2f}x**"),
                  ("ours with Keras' own BatchNormalization instead of the fused one",
                   f"{result['keras_bn_images_per_s']:,.0f}"),
                  ("**fused batch norm: ratio**", f"**{result['fused_bn_ratio']:.2f}x**"),
                  ("augmentation pipeline alone (no model)", f"{feed:,.0f}")])
