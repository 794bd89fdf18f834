"""Profiles: how much compute a command may spend, as overrides of the configuration.

`smoke` runs in seconds (tests, demo), `default` fits this project's 2-core CPU machines in well
under the 150 minutes issue 12 allows for 5 folds, `full` is for a GPU or a night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solution.config import Config


@dataclass(frozen=True)
class Profile:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)  # applied on top of the base config
    max_train_rows: int | None = None  # stratified subset of train.csv; None = every row
    tune_folds: int = 5  # folds a tuning trial trains (the rest are never looked at)
    tune_epochs: tuple[int, int] = (1, 1)  # range of epochs the tuner may choose
    description: str = ""
    # Overrides (on top of `overrides`) that give the profile's configuration before its last
    # change: `make options` measures every option against it, and it against today's.
    previous: dict[str, Any] = field(default_factory=dict)

    def apply(self, cfg: Config) -> Config:
        return cfg.replace(**self.overrides)

    def apply_previous(self, cfg: Config) -> Config:
        """The configuration options are measured against: the previous one where recorded."""
        return self.apply(cfg).replace(**self.previous)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke",
        # Measured on the demo's 1,257 rows, fold 1: 2 epochs at lr 1e-3 reach 54%; this 91%.
        overrides=dict(width=8, head_width=32, epochs=3, batch_size=32, learning_rate=3e-3,
                       lr_decay=0.7, dropout=0.1, bn_momentum=0.8),
        max_train_rows=1000, tune_folds=5, tune_epochs=(1, 3),
        description="seconds: a narrow net, 3 epochs, 1,000 training rows; for tests and the demo"),
    # Issue 12's options table (`make options PROFILE=default FOLDS=1`, runs/baselines/) chose
    # each change against the previous default (16 epochs, exponential decay 0.85, width 32;
    # fold 1 0.99333): the cosine schedule, 3/4 width (as accurate, 1.6x faster to train), the
    # distillation second round (pseudo-labels within 2 images of it) and TTA. The time 3/4
    # width saves buys 24 + 8 epochs instead of 16 + 5. Issue 21 (all 5 folds, README) then
    # made a fold two networks: two first rounds, whose TTA average labels the test images for
    # one 8-epoch distillation round of the first (the student, which the edge ships); the
    # second stays its first round. OOF 0.99586 without TTA against 0.99555 for one
    # self-distilled member with TTA, at 1.66x the training; TTA no longer helps the members.
    # Batch norm in TensorFlow's fused kernel (solution.models.layers; 1.3-2x faster training
    # in `solution bench train`) then paid for a last clean epoch on both members, the best row
    # of issue 21's screen.
    "default": Profile(
        "default",
        overrides=dict(width=24, epochs=24, batch_size=128, schedule="cosine", warmup=1.0,
                       learning_rate=2e-3, second_round="distil", second_round_epochs=8,
                       second_round_teacher="fold", seeds_per_fold=2, second_round_seeds=1,
                       clean_epochs=1, tta=False),
        tune_folds=5, tune_epochs=(12, 24),
        description="this 2-core CPU machine: per fold two 24-epoch cosine networks at 3/4 "
                    "width, the first distilled 8 more epochs from both on the test images, "
                    "each ending with one epoch without augmentation; see the README for its "
                    "time",
        # before issue 12: 16 epochs of exponential decay 0.85 at full width (OOF 0.99443)
        previous=dict(width=32, epochs=16, schedule="exponential", warmup=0.0, learning_rate=1e-3,
                      lr_decay=0.85, second_round="off", second_round_epochs=0,
                      second_round_teacher="member", seeds_per_fold=1, second_round_seeds=0,
                      clean_epochs=0, tta=False)),
    "quick": Profile(
        "quick",
        # 105 steps per epoch: BN's moving averages need momentum 0.9 to catch up (at 0.99 the
        # first quick study's trial 0 validated at 53% after 4 epochs while training at 88%).
        overrides=dict(epochs=4, learning_rate=2e-3, lr_decay=0.7, batch_size=64,
                       bn_momentum=0.9),
        max_train_rows=8400, tune_folds=2, tune_epochs=(2, 6),
        description="tuning in about an hour here: 8,400 rows, 2 of the 5 folds, few epochs"),
    "full": Profile(
        "full",
        overrides=dict(epochs=45, lr_decay=0.95, batch_size=64, seeds_per_fold=3, tta=True),
        tune_folds=5, tune_epochs=(30, 60),
        description="a GPU or a night: the 45-epoch recipe, 3 seeds per fold, TTA"),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of "
                         f"{', '.join(PROFILES)}") from None
