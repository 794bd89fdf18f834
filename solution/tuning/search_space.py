"""The whole tuning search space, in one function: an Optuna trial in, a `Config` out.

Parameter names are `Config` field names, so `base.replace(**study.best_params)` rebuilds the
tuned configuration, and the profile's defaults are one point of the space (`default_params`), so
they can be enqueued as trial 0 and a study never recommends something worse than the defaults.

Ranges are set relative to the profile's base configuration (width, batch size) or to its epoch
budget (`Profile.tune_epochs`): the profile fixes the scale and the cost, the tuner explores
around it. Everything not searched (stages, kernel, head, seeds per fold, TTA, ...) stays as the
profile sets it, so a tuned configuration costs what the profile promised, give or take the
epochs and width that the tuner may choose within the ranges below.

With several architectures (`tune --archs cnn,m5`) the trial also chooses `arch`; the fields that
shape only the CNN are then still suggested but ignored by the other networks.

    python -c "import optuna; from solution.tuning.search_space import *; ..."   # see tests
"""

from __future__ import annotations

from typing import Any

import optuna

from solution.config import ARCHS, Config
from solution.profiles import Profile

# The fields `suggest_config` sets; everything else comes from the profile's base configuration.
SEARCHED = ("width", "convs_per_stage", "dropout", "learning_rate", "lr_decay", "batch_size",
            "label_smoothing", "rotation", "zoom", "shift", "epochs")


def suggest_config(trial: optuna.Trial | optuna.trial.FixedTrial, profile: Profile,
                   base: Config, archs: tuple[str, ...] = ("cnn",)) -> Config:
    """The configuration this trial trains: `base` with the searched fields suggested, and the
    architecture chosen among `archs` when there are several."""
    epochs_low, epochs_high = profile.tune_epochs
    width_step = max(1, base.width // 4)
    if len(archs) > 1:
        base = base.replace(arch=trial.suggest_categorical("arch", list(archs)))
    elif archs != (base.arch,):
        base = base.replace(arch=archs[0])
    return base.replace(
        # network: width in quarter steps from half to one and a half times the profile's
        width=trial.suggest_int("width", max(width_step, base.width // 2),
                                base.width * 3 // 2, step=width_step),
        convs_per_stage=trial.suggest_int("convs_per_stage", 1, 3),  # depth: 3x3 convs per stage
        dropout=trial.suggest_float("dropout", 0.1, 0.5),
        # optimisation: lr(epoch) = learning_rate * lr_decay**epoch
        learning_rate=trial.suggest_float("learning_rate", 3e-4, 3e-3, log=True),
        lr_decay=trial.suggest_float("lr_decay", 0.5, 0.97),
        batch_size=trial.suggest_categorical(
            "batch_size", [base.batch_size // 2, base.batch_size, base.batch_size * 2]),
        label_smoothing=trial.suggest_float("label_smoothing", 0.0, 0.15),
        # augmentation magnitudes
        rotation=trial.suggest_float("rotation", 0.0, 15.0),
        zoom=trial.suggest_float("zoom", 0.0, 0.2),
        shift=trial.suggest_float("shift", 0.0, 0.2),
        # schedule: within the profile's budget
        epochs=trial.suggest_int("epochs", epochs_low, epochs_high),
    )


def default_params(base: Config, archs: tuple[str, ...] = ("cnn",)) -> dict[str, Any]:
    """The base configuration as trial parameters (what trial 0 is enqueued with); among several
    architectures, the default is the CNN when listed."""
    params = {name: getattr(base, name) for name in SEARCHED}
    if len(archs) > 1:
        params["arch"] = "cnn" if "cnn" in archs else archs[0]
    return params


def parse_archs(text: str) -> tuple[str, ...]:
    """'cnn,m5' -> ('cnn', 'm5'); unknown or repeated names are a one-line ValueError."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in ARCHS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"--archs {text!r}: distinct names from {', '.join(ARCHS)}")
    return names


def config_from_params(params: dict[str, Any], base: Config) -> Config:
    """Inverse of `suggest_config` for finished trials: `base` with the trial's parameters."""
    unknown = sorted(set(params) - {*SEARCHED, "arch"})
    if unknown:
        raise ValueError(f"trial parameter(s) {', '.join(unknown)} are not in the search space")
    return base.replace(**params)
