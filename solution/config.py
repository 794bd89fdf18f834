"""The one description of a trained ensemble: network, optimiser, augmentation and schedule.

Every run, trial and exported model stores the fully resolved `Config` as JSON, so a result can
always say how it was made. `Config.from_dict(cfg.to_dict()) == cfg` holds for every config.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

Downsample = Literal["strided", "pool"]
Head = Literal["conv", "dense"]
Schedule = Literal["exponential", "cosine"]
SecondRound = Literal["off", "pseudo", "distil"]
Teacher = Literal["member", "fold"]
# Networks of the zoo (`solution.models.zoo`); listed here so a Config validates without TensorFlow.
ARCHS = ("cnn", "m3", "m5", "m7", "lenet5", "mlp512", "mlp1024")
# An et al. 2020's simple CNNs: (kernel, conv widths); `channels` may narrow them (pruning).
SIMPLE_CNNS: dict[str, tuple[int, tuple[int, ...]]] = {
    "m3": (3, tuple(range(32, 177, 16))),  # ten 3x3 layers, 32..176 channels
    "m5": (5, tuple(range(32, 161, 32))),  # five 5x5 layers, 32..160 channels
    "m7": (7, tuple(range(48, 193, 48))),  # four 7x7 layers, 48..192 channels
}
# Architectures whose conv widths `channels` can set, so structured pruning can narrow them.
PRUNABLE = ("cnn", *SIMPLE_CNNS)

# The fields that shape a network. Each zoo entry declares which of them its builder reads
# (`solution.models.zoo.register(name, reads=...)`); every other field (`TRAINING_FIELDS`:
# optimiser, schedule, augmentation, ensemble) is read by the training of every architecture.
NETWORK_FIELDS = ("width", "stages", "convs_per_stage", "kernel_size", "downsample", "batch_norm",
                  "bn_momentum", "dropout", "head", "head_width", "channels")


@dataclass(frozen=True)
class Config:
    arch: str = "cnn"  # zoo network (ARCHS); each reads only some of the network fields below
    # --- network (NETWORK_FIELDS; the public 99.6% recipe: 2 stages of conv-conv-5x5/2 plus a
    # 4x4 conv head; "cnn" reads them all) ---
    width: int = 32  # channels of stage 0; stage s has width * 2**s channels
    stages: int = 2  # downsampling stages; 28 -> 12 -> 4 pixels with valid 3x3 convs
    convs_per_stage: int = 2  # 3x3 convs before each downsampling step
    kernel_size: int = 3  # kernel of the plain convs; the downsampling conv is 5x5
    downsample: Downsample = "strided"  # 5x5 stride-2 conv (learned) or 2x2 max-pool
    batch_norm: bool = True  # BN after every conv: faster, steadier training
    bn_momentum: float = 0.99  # BN moving-average momentum; lower for runs of a few dozen steps
    dropout: float = 0.4  # after each stage and before the classifier
    head: Head = "conv"  # 4x4 valid conv to head_width (recipe) or global average + dense
    head_width: int = 128  # units of the last hidden layer
    channels: tuple[int, ...] = ()  # explicit width per conv layer (pruning sets it); () = derived
    # --- optimisation ---
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = 1e-3  # initial learning rate
    schedule: Schedule = "exponential"  # learning rate over the run; see `lr_decay`, `warmup`
    lr_decay: float = 0.95  # exponential: lr(epoch) = learning_rate * lr_decay**epoch
    warmup: float = 0.0  # cosine: epochs of linear warm-up to learning_rate, then cosine to 0
    weight_decay: float = 0.0  # only used by adamw
    label_smoothing: float = 0.0  # 0.0 = plain cross-entropy
    ema_momentum: float = 0.0  # > 0: the saved weights are this exponential moving average
    epochs: int = 30
    batch_size: int = 64
    # --- augmentation (training batches only; never part of the model) ---
    rotation: float = 10.0  # max rotation in degrees, uniform in [-rotation, rotation]
    zoom: float = 0.1  # scale uniform in [1 - zoom, 1 + zoom]
    shift: float = 0.1  # translation as a fraction of the image side, per axis
    elastic: float = 0.0  # elastic distortion: max displacement in pixels of a smooth field
    # --- second round: the first-round member labels the unlabelled test images (pseudo-labels:
    # its argmax; distil: its probabilities) and goes on training on its own training rows plus
    # them, so fold k only ever learns from fold k's member, which never saw fold k's rows ---
    second_round: SecondRound = "off"
    second_round_epochs: int = 0  # epochs of the second round (cosine from learning_rate / 2)
    # who labels the test images for round two: the member's own first round (reading with
    # `tta`), or the mean of all the fold's first rounds, each reading with TTA (issue 21: a
    # better teacher, still blind to the fold's validation rows)
    second_round_teacher: Teacher = "member"
    second_round_seeds: int = 0  # members per fold that get round two (0: all); the rest stay
    # first rounds, so a fold can average a student with a differently seeded network
    # --- clean epochs: the member ends on its fold's training rows as they are, without the
    # warp, at a low learning rate decaying to 0, so it last learns the digits as it will read
    # them (issue 21: +8 images of 42,000 per first-round member at 1e-4) ---
    clean_epochs: int = 0
    clean_learning_rate: float = 1e-4
    # --- ensemble ---
    seeds_per_fold: int = 1  # models trained per fold, each with its own seed; their mean is used
    tta: bool = False  # average predictions over a few fixed small shifts at predict time

    def __post_init__(self) -> None:
        _check(self.arch in ARCHS, "arch", self.arch, f"unknown; choose one of {', '.join(ARCHS)}")
        _check(self.width >= 1, "width", self.width, "must be >= 1")
        _check(self.stages in (1, 2, 3), "stages", self.stages, "must be 1, 2 or 3")
        _check(self.convs_per_stage >= 0, "convs_per_stage", self.convs_per_stage, "must be >= 0")
        _check(self.kernel_size in (3, 5), "kernel_size", self.kernel_size, "must be 3 or 5")
        _check(self.downsample in ("strided", "pool"), "downsample", self.downsample, "unknown")
        _check(self.head in ("conv", "dense"), "head", self.head, "unknown")
        _check(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "must be in [0, 1)")
        _check(0.0 <= self.label_smoothing < 0.5, "label_smoothing", self.label_smoothing,
               "must be in [0, 0.5)")
        _check(self.ema_momentum == 0.0 or 0.9 <= self.ema_momentum < 1.0, "ema_momentum",
               self.ema_momentum, "must be 0 (off) or in [0.9, 1)")
        _check(self.learning_rate > 0, "learning_rate", self.learning_rate, "must be > 0")
        _check(0.0 < self.lr_decay <= 1.0, "lr_decay", self.lr_decay, "must be in (0, 1]")
        _check(self.epochs >= 1, "epochs", self.epochs, "must be >= 1")
        _check(self.schedule in ("exponential", "cosine"), "schedule", self.schedule, "unknown")
        _check(0.0 <= self.warmup < self.epochs, "warmup", self.warmup,
               "must be in [0, epochs)")
        _check(0.0 <= self.elastic <= 8.0, "elastic", self.elastic, "must be in [0, 8] pixels")
        _check(self.second_round in ("off", "pseudo", "distil"), "second_round",
               self.second_round, "unknown; choose off, pseudo or distil")
        _check(self.second_round_epochs >= (self.second_round != "off"), "second_round_epochs",
               self.second_round_epochs, "must be >= 1 when second_round is on, else >= 0")
        _check(self.second_round_teacher in ("member", "fold"), "second_round_teacher",
               self.second_round_teacher, "unknown; choose member or fold")
        _check(self.second_round_teacher == "member" or self.second_round != "off",
               "second_round_teacher", self.second_round_teacher,
               "fold needs a second round (second_round pseudo or distil)")
        _check(self.second_round_seeds >= 0, "second_round_seeds", self.second_round_seeds,
               "must be >= 0 (0: every member of a fold)")
        _check(self.clean_epochs >= 0, "clean_epochs", self.clean_epochs, "must be >= 0")
        _check(self.clean_learning_rate > 0, "clean_learning_rate", self.clean_learning_rate,
               "must be > 0")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        _check(self.seeds_per_fold >= 1, "seeds_per_fold", self.seeds_per_fold, "must be >= 1")
        _check(self.optimizer in ("adam", "adamw", "sgd"), "optimizer", self.optimizer, "unknown")
        if self.channels:  # pruning widths exist only for the conv families
            _check(self.arch in PRUNABLE, "channels", self.channels,
                   f"only arch {', '.join(PRUNABLE)} can set it")
            _check(len(self.channels) == self.conv_layers, "channels", self.channels,
                   f"needs {self.conv_layers} entries")
            _check(min(self.channels) >= 1, "channels", self.channels, "entries must be >= 1")

    @property
    def conv_layers(self) -> int:
        """Number of conv layers whose width `channels` lists (the conv head included)."""
        if self.arch in SIMPLE_CNNS:
            return len(SIMPLE_CNNS[self.arch][1])
        return self.stages * (self.convs_per_stage + (self.downsample == "strided")) + (
            self.head == "conv")

    def layer_widths(self) -> tuple[int, ...]:
        """Width of every conv layer in build order: stage convs, downsampling convs, conv head."""
        if self.channels:
            return self.channels
        if self.arch in SIMPLE_CNNS:
            return SIMPLE_CNNS[self.arch][1]
        widths: list[int] = []
        for stage in range(self.stages):
            per_stage = self.convs_per_stage + (self.downsample == "strided")
            widths += [self.width * 2**stage] * per_stage
        if self.head == "conv":
            widths.append(self.head_width)
        return tuple(widths)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown configuration field(s): {', '.join(unknown)}")
        values = dict(data)
        if "channels" in values:
            values["channels"] = tuple(values["channels"])
        return cls(**values)

    def fingerprint(self) -> str:
        """Short stable hash of what changes what is trained: `arch`, the training fields and
        the network fields that `arch` reads, so configurations that differ only in fields
        their network ignores (an m5's `width`) share run folders and trained folds, and so do
        configurations that differ only in `seeds_per_fold`."""
        from solution.models.zoo import fields_read  # the zoo imports this module

        # Members are seeded per (fold, seed index) whatever their count, so a run with more
        # seeds per fold shares the folder of one with fewer and trains only the new members;
        # not so where the fold's first rounds teach every second round.
        data = self.to_dict()
        if self.second_round_teacher == "member":
            data["seeds_per_fold"] = 1
        defaults = Config()
        hashed = [name for name in fields_read(self.arch)
                  if not (name in UNHASHED_WHEN_OFF and self.clean_epochs == 0)
                  and not (name in UNHASHED_AT_DEFAULT
                           and data[name] == getattr(defaults, name))]
        blob = json.dumps({name: data[name] for name in hashed}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


# Fields added after run folders were named by the hash: left out of it while they train
# nothing (clean epochs off) or change nothing (at their defaults), so the folders (and the
# members in them) of configurations without them keep their names.
UNHASHED_WHEN_OFF = ("clean_epochs", "clean_learning_rate")
UNHASHED_AT_DEFAULT = ("second_round_teacher", "second_round_seeds")


def _check(ok: bool, name: str, value: object, message: str) -> None:
    if not ok:
        raise ValueError(f"config field {name}={value!r}: {message}")


# Everything but `arch` and the network: read by every architecture's training.
TRAINING_FIELDS = tuple(f.name for f in dataclasses.fields(Config)
                        if f.name != "arch" and f.name not in NETWORK_FIELDS)
