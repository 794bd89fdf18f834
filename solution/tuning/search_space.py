"""The whole tuning search space, in one function: an Optuna trial in, a `Config` out.

Parameter names are `Config` field names, so `base.replace(**study.best_params)` rebuilds the
tuned configuration, and the profile's defaults are one point of the space (`default_params`), so
they can be enqueued as trial 0 and a study never recommends something worse than the defaults.

Ranges are set relative to the profile's base configuration (width, batch size) or to its epoch
budget (`Profile.tune_epochs`): the profile fixes the scale and the cost, the tuner explores
around it. Everything not searched (stages, kernel, head, seeds per fold, TTA, ...) stays as the
profile sets it, so a tuned configuration costs what the profile promised, give or take the
epochs and width that the tuner may choose within the ranges below.

With several architectures (`tune --archs cnn,m5`) the trial first chooses `arch`, and then only
the searched fields that architecture reads are suggested (`solution.models.zoo.fields_read`):
the training fields always, network fields such as width, convs_per_stage and dropout only for a
network built from them (an m5 trial has none of the three, an mlp trial only dropout). The
space is conditional, which the sampler's `group=True` handles (`solution.tuning.tune`), and a
trial carries no parameter its network ignores, so two trials that train the same network share
one `Config.fingerprint` and its run folder.

    python -c "import optuna; from solution.tuning.search_space import *; ..."   # see tests
"""

from __future__ import annotations

from typing import Any

import optuna

from solution.config import Config
from solution.models.zoo import fields_read
from solution.profiles import Profile

# The fields `suggest_config` may set (each only for the architectures that read it); everything
# else comes from the profile's base configuration.
SEARCHED = ("width", "convs_per_stage", "dropout", "learning_rate", "lr_decay", "batch_size",
            "label_smoothing", "rotation", "zoom", "shift", "epochs")


def searched_fields(arch: str, schedule: str = "exponential") -> tuple[str, ...]:
    """The `SEARCHED` fields that `arch` reads under `schedule`: the parameters of a trial that
    trains it (`lr_decay` shapes only the exponential schedule)."""
    read = set(fields_read(arch)) - ({"lr_decay"} if schedule != "exponential" else set())
    return tuple(name for name in SEARCHED if name in read)


def suggest_config(trial: optuna.Trial | optuna.trial.FixedTrial, profile: Profile,
                   base: Config, archs: tuple[str, ...] = ("cnn",)) -> Config:
    """The configuration this trial trains: the architecture chosen among `archs` when there
    are several, then `base` with the searched fields that architecture reads suggested."""
    if len(archs) > 1:
        base = base.replace(arch=trial.suggest_categorical("arch", list(archs)))
    elif archs != (base.arch,):
        base = base.replace(arch=archs[0])
    epochs_low, epochs_high = profile.tune_epochs
    width_step = max(1, base.width // 4)
    suggest = {
        # network: width in quarter steps from half to one and a half times the profile's
        "width": lambda: trial.suggest_int("width", max(width_step, base.width // 2),
                                           base.width * 3 // 2, step=width_step),
        # depth: 3x3 convs per stage
        "convs_per_stage": lambda: trial.suggest_int("convs_per_stage", 1, 3),
        "dropout": lambda: trial.suggest_float("dropout", 0.1, 0.5),
        # optimisation: lr(epoch) = learning_rate * lr_decay**epoch
        "learning_rate": lambda: trial.suggest_float("learning_rate", 3e-4, 3e-3, log=True),
        "lr_decay": lambda: trial.suggest_float("lr_decay", 0.5, 0.97),
        "batch_size": lambda: trial.suggest_categorical(
            "batch_size", [base.batch_size // 2, base.batch_size, base.batch_size * 2]),
        "label_smoothing": lambda: trial.suggest_float("label_smoothing", 0.0, 0.15),
        # augmentation magnitudes
        "rotation": lambda: trial.suggest_float("rotation", 0.0, 15.0),
        "zoom": lambda: trial.suggest_float("zoom", 0.0, 0.2),
        "shift": lambda: trial.suggest_float("shift", 0.0, 0.2),
        # schedule: within the profile's budget
        "epochs": lambda: trial.suggest_int("epochs", epochs_low, epochs_high),
    }  # one entry per SEARCHED name; suggested in SEARCHED order, those the arch reads
    return base.replace(**{name: suggest[name]()
                           for name in searched_fields(base.arch, base.schedule)})


def default_arch(base: Config, archs: tuple[str, ...] = ("cnn",)) -> str:
    """The architecture of trial 0: the base's own (the CNN for every profile) when listed,
    else the first of `archs`."""
    return base.arch if base.arch in archs else archs[0]


def default_params(base: Config, archs: tuple[str, ...] = ("cnn",)) -> dict[str, Any]:
    """The base configuration as trial parameters (what trial 0 is enqueued with): exactly the
    parameters `suggest_config` suggests for `default_arch`, with `arch` among several."""
    arch = default_arch(base, archs)
    params: dict[str, Any] = {"arch": arch} if len(archs) > 1 else {}
    params.update((name, getattr(base, name)) for name in searched_fields(arch, base.schedule))
    return params


def config_from_params(params: dict[str, Any], base: Config) -> Config:
    """Inverse of `suggest_config` for finished trials: `base` with the trial's parameters."""
    unknown = sorted(set(params) - {*SEARCHED, "arch"})
    if unknown:
        raise ValueError(f"trial parameter(s) {', '.join(unknown)} are not in the search space")
    return base.replace(**params)
