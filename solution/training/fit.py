"""Train one ensemble member on one fold, and predict with a trained member."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from solution.config import Config
from solution.data.competition import NUM_CLASSES
from solution.models.zoo import create_model
from solution.training.augment import (
    TTA_SHIFTS,
    Warp,
    eval_dataset,
    to_float,
    training_dataset,
    tta_views,
)
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


@dataclass
class EpochClock:
    """Shared by all members of a run, so every epoch line can show the ETA of the whole run.

    Epochs differ in size (a second round also trains on the 28,000 test images), so where the
    run knows how many rows its epochs hold (total_rows) the ETA is the rows left times the
    recent seconds per row: honest from the first epoch, not only once a second round was seen.
    """

    total_epochs: int
    done_epochs: int = 0
    seconds: list[float] = field(default_factory=list)
    total_rows: int = 0                                    # 0: unknown, count epochs instead
    done_rows: int = 0
    row_seconds: list[float] = field(default_factory=list)  # per epoch: seconds per row

    def tick(self, seconds: float, rows: int = 0) -> None:
        """One epoch of `rows` rows (0: unknown) took `seconds`."""
        self.done_epochs += 1
        self.seconds.append(seconds)
        if rows:
            self.done_rows += rows
            self.row_seconds.append(seconds / rows)

    def eta_seconds(self) -> float:
        if self.total_rows and self.row_seconds:
            left = max(0, self.total_rows - self.done_rows)
            return left * float(np.median(self.row_seconds[-10:]))
        if not self.seconds:
            return float("nan")
        return (self.total_epochs - self.done_epochs) * float(np.median(self.seconds[-10:]))


def _progress_callback(label: str, clock: EpochClock, log: Log, rows: int = 0):
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()
            self.first_step_done = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if batch == 0:
                self.first_step_done = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            now = time.perf_counter()
            spent = now - self.started
            clock.tick(steady_seconds(spent, now - (self.first_step_done or self.started),
                                      self.params.get("steps") or 0), rows)
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            log(f"{label} epoch {epoch + 1:>2}/{self.params['epochs']}  "
                f"loss {logs.get('loss', float('nan')):.4f}  acc {logs.get('accuracy', 0):.4f}  "
                f"val_loss {logs.get('val_loss', float('nan')):.4f}  "
                f"val_acc {logs.get('val_accuracy', 0):.4f}  lr {lr:.2e}  {spent:.0f}s  "
                f"ETA {_clock_text(clock.eta_seconds())}")

    return Progress()


def steady_seconds(spent: float, after_first_step: float, steps: int) -> float:
    """An epoch's time as the later epochs will take it: its first step (where TensorFlow
    traces the graph, seconds on a 2-core CPU) counted at the pace of the others, so the ETA
    of the very first epoch line is honest."""
    if steps < 2 or not 0 < after_first_step <= spent:
        return spent
    return after_first_step * steps / (steps - 1)


def _clock_text(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


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
               label: str = "", clock: EpochClock | None = None, log: Log | None = None,
               callbacks: Sequence[Any] = (), model: keras.Model | None = None,
               ) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train a fresh `create_model(cfg)` (or `model`) on augmented batches; returns it and history.

    Images are (N, 28, 28) uint8; targets are class indices (N,) or probabilities (N, 10) (a
    second round's distilled test images).
    """
    import keras

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
        all_callbacks.append(_progress_callback(label, clock or EpochClock(cfg.epochs), log,
                                                steps * cfg.batch_size))
    with warnings.catch_warnings():  # Keras warns that a tf.data input ignores shuffle=True
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        history = model.fit(train_ds, steps_per_epoch=steps, epochs=cfg.epochs,
                            validation_data=eval_dataset(val_images, val_labels),
                            callbacks=all_callbacks, verbose=0)
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict_probs(model: keras.Model, images: np.ndarray, tta: bool = False,
                  batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities (N, 10) float32 for (N, 28, 28) uint8 images.

    With `tta`, the mean over the image and four copies moved by one pixel.
    """
    if not tta:
        return model.predict(eval_dataset(images, batch_size=batch_size), verbose=0)
    import tensorflow as tf

    total = np.zeros((len(images), NUM_CLASSES), np.float64)
    for dx, dy in TTA_SHIFTS:
        views = tf.data.Dataset.from_tensor_slices(images).batch(batch_size).map(
            lambda x, dx=dx, dy=dy: tta_views(to_float(x), dx, dy))
        total += model.predict(views, verbose=0)
    return (total / len(TTA_SHIFTS)).astype(np.float32)
