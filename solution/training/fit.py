"""Train one ensemble member on one fold, and predict with a trained member."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from solution.config import Config
from solution.data.competition import NUM_CLASSES
from solution.models.zoo import create_model
from solution.training.augment import (
    EVAL_BATCH,
    TTA_SHIFTS,
    Warp,
    eval_dataset,
    to_float,
    training_dataset,
    tta_views,
)
from solution.training.clock import RunClock, Work, steady_seconds
from solution.training.precision import Precision, resolve_precision, use_precision
from solution.training.quiet import native_stderr_filtered

if TYPE_CHECKING:
    import keras

Log = Callable[[str], None]


def configure_tensorflow(threads: int | None = None, precision: str = "float32") -> Precision:
    """Quiet TensorFlow's start-up noise (solution.training.quiet), bound its thread pools
    (several workers share the cores) and set the precision models are built in (`auto`: what
    the CPU has; see `solution.training.precision`).

    Must run before TensorFlow executes anything; later thread settings are ignored by TensorFlow
    itself. Returns the precision chosen.
    """
    with native_stderr_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # CUDA's probe logs now, inside the filter

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
        except RuntimeError:  # already initialised in this process: keep what is in force
            pass
    chosen = resolve_precision(precision)
    use_precision(chosen)
    return chosen


def _progress_callback(label: str, clock: RunClock, log: Log, fit_started: float,
                       rows: int, val_rows: int, val_batch: int):
    import keras

    class Progress(keras.callbacks.Callback):
        """Times each epoch's training and validation apart (the clock prices reading and
        training at their own rates) and the fit's start-up on its first epoch."""

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()
            self.val_started = self.val_ended = 0.0  # stays 0 for an epoch without validation
            self.first_step_done = self.first_val_done = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if batch == 0:
                self.first_step_done = time.perf_counter()

        def on_test_begin(self, logs: dict | None = None) -> None:
            self.val_started = time.perf_counter()

        def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if batch == 0:
                self.first_val_done = time.perf_counter()

        def on_test_end(self, logs: dict | None = None) -> None:
            self.val_ended = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            now = time.perf_counter()
            spent = now - self.started
            val_started, val_ended = self.val_started or now, self.val_ended or now
            train = steady_seconds(val_started - self.started,
                                   val_started - (self.first_step_done or self.started),
                                   self.params.get("steps") or 0)
            validated = val_ended - val_started
            read = steady_seconds(validated, val_ended - (self.first_val_done or val_started),
                                  -(-val_rows // val_batch)) if validated else 0.0
            val_rows_read = val_rows if validated else 0
            start_up = now - fit_started - train - read if epoch == 0 else None
            clock.epoch(train, rows, read, val_rows_read, start_up)
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            log(f"{label} epoch {epoch + 1:>2}/{self.params['epochs']}  "
                f"loss {logs.get('loss', float('nan')):.4f}  acc {logs.get('accuracy', 0):.4f}  "
                f"val_loss {logs.get('val_loss', float('nan')):.4f}  "
                f"val_acc {logs.get('val_accuracy', 0):.4f}  lr {lr:.2e}  {spent:.0f}s  "
                f"ETA {clock.eta_text()}")

    return Progress()


WARMUP_START = 0.04  # a warm-up starts at this fraction of learning_rate (one-cycle's 1/25)


def learning_rate(cfg: Config, steps_per_epoch: int) -> Any:
    """The optimiser's learning rate: a float that `exponential_schedule` changes per epoch, or a
    per-step cosine schedule (with its linear warm-up) sized to the run's own epochs."""
    import keras

    if cfg.schedule == "exponential":
        return cfg.learning_rate
    total = max(1, steps_per_epoch * cfg.epochs)
    warmup = min(total - 1, round(cfg.warmup * steps_per_epoch))
    return keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate * (WARMUP_START if warmup else 1.0), decay_steps=total - warmup,
        alpha=0.0, warmup_target=cfg.learning_rate if warmup else None, warmup_steps=warmup)


def exponential_schedule(cfg: Config) -> list[Any]:
    """The per-epoch callback of the exponential schedule; the cosine one lives in the optimiser."""
    import keras

    if cfg.schedule != "exponential":
        return []
    return [keras.callbacks.LearningRateScheduler(
        lambda epoch: cfg.learning_rate * cfg.lr_decay**epoch)]


def make_optimizer(cfg: Config, steps_per_epoch: int = 1) -> Any:
    """The optimiser; with `ema_momentum`, Keras swaps the averaged weights in when fit ends."""
    import keras

    ema = {"use_ema": True, "ema_momentum": cfg.ema_momentum} if cfg.ema_momentum else {}
    rate = learning_rate(cfg, steps_per_epoch)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(rate, **ema)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=cfg.weight_decay, **ema)
    return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, **ema)


def compile_model(model: keras.Model, cfg: Config, steps_per_epoch: int = 1) -> keras.Model:
    import keras

    model.compile(optimizer=make_optimizer(cfg, steps_per_epoch),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
                  metrics=["accuracy"])
    return model


def fit_member(cfg: Config, train_images: np.ndarray, train_labels: np.ndarray,
               val_images: np.ndarray, val_labels: np.ndarray, seed: int, *,
               label: str = "", clock: RunClock | None = None, log: Log | None = None,
               callbacks: Sequence[Any] = (), model: keras.Model | None = None,
               ) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train a fresh `create_model(cfg)` (or `model`) on augmented batches; returns it and history.

    Images are (N, 28, 28) uint8; targets are class indices (N,) or probabilities (N, 10) (a
    second round's distilled test images).
    """
    import keras

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    steps = max(1, len(train_images) // cfg.batch_size)
    if model is None:
        model = create_model(cfg)
    else:  # a saved member goes on training: in the fused batch norm, whatever it was saved with
        from solution.models.layers import FusedBatchNormalization, batch_norm_as

        model = batch_norm_as(model, FusedBatchNormalization)
    model = compile_model(model, cfg, steps)
    train_ds = training_dataset(train_images, train_labels, cfg.batch_size, seed,
                                Warp(cfg.rotation, cfg.zoom, cfg.shift, cfg.elastic))
    all_callbacks = [*exponential_schedule(cfg), *callbacks]
    if log is not None:
        rows, val_rows = steps * cfg.batch_size, len(val_images)
        alone = Work(train_rows=cfg.epochs * rows, read_rows=cfg.epochs * val_rows, fits=1,
                     epochs=cfg.epochs)
        all_callbacks.append(_progress_callback(label, clock or RunClock(alone), log, started,
                                                rows, val_rows, EVAL_BATCH))
    history = model.fit(train_ds, steps_per_epoch=steps, epochs=cfg.epochs,
                        validation_data=eval_dataset(val_images, val_labels),
                        callbacks=all_callbacks, verbose=0,
                        shuffle=False)  # the pipeline shuffles; Keras warns that it ignores True
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict_probs(model: keras.Model, images: np.ndarray, tta: bool = False,
                  batch_size: int = 1024, clock: RunClock | None = None) -> np.ndarray:
    """Softmax probabilities (N, 10) float32 for (N, 28, 28) uint8 images.

    With `tta`, the mean over the image and four copies moved by one pixel. A run's `clock` is
    told how long the reading took.
    """
    started = time.perf_counter()
    if not tta:
        probs = model.predict(eval_dataset(images, batch_size=batch_size), verbose=0)
    else:
        import tensorflow as tf

        total = np.zeros((len(images), NUM_CLASSES), np.float64)
        for dx, dy in TTA_SHIFTS:
            views = tf.data.Dataset.from_tensor_slices(images).batch(batch_size).map(
                lambda x, dx=dx, dy=dy: tta_views(to_float(x), dx, dy))
            total += model.predict(views, verbose=0)
        probs = (total / len(TTA_SHIFTS)).astype(np.float32)
    if clock is not None:
        clock.read(time.perf_counter() - started, len(images) * read_views(tta))
    return probs


def read_views(tta: bool) -> int:
    """How many passes through the network one image's reading takes."""
    return len(TTA_SHIFTS) if tta else 1
