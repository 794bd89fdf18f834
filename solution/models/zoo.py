"""The model zoo: every network the project trains, registered by name, built from one `Config`.

One way in: `create_model(cfg)` builds the network named by `cfg.arch`. Each builder is a few
lines, registered with `@register(name, reads=...)`, takes the same `Config` and returns an
uncompiled Keras model with input `image` (N, 28, 28, 1) float32 in 0..1 and softmax output
`probabilities` (N, 10). Augmentation stays in the input pipeline, so every architecture trains
through the same `fit_member`, folds and augmentation, and reads every training field
(`solution.config.TRAINING_FIELDS`); of the network fields (`NETWORK_FIELDS`) each reads only
those its `reads` declares (`network_fields(arch)`). The tuner suggests and
`Config.fingerprint` hashes only the fields an architecture reads (`fields_read(arch)`).

    cnn      the default strong CNN (`solution.models.cnn.build_model`; pruned through `channels`)
    m3/m5/m7 An et al. 2020, "An Ensemble of Simple Convolutional Neural Network Models for MNIST
             Digit Recognition": bias-free valid convs + BN + ReLU, no pooling, one dense layer
             (pruned through `channels` too)
    lenet5   LeCun et al. 1998, modernised (see `lenet5`)
    mlp512, mlp1024  the reference notebooks' multilayer perceptrons, with dropout
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from solution.config import ARCHS, NETWORK_FIELDS, SIMPLE_CNNS, TRAINING_FIELDS, Config
from solution.models.cnn import IMAGE_SHAPE, NUM_CLASSES, build_model

if TYPE_CHECKING:
    import keras

Builder = Callable[[Config], "keras.Model"]
_REGISTRY: dict[str, Builder] = {}
_READS: dict[str, tuple[str, ...]] = {}  # arch -> the NETWORK_FIELDS its builder reads


def register(name: str, *, reads: Sequence[str]) -> Callable[[Builder], Builder]:
    """Decorator: make `builder` available as `create_model(cfg.replace(arch=name))`.

    `reads` names every `NETWORK_FIELDS` entry the builder uses (directly or through
    `cfg.layer_widths()`); the others are not suggested by the tuner for this arch and do not
    enter `Config.fingerprint`, so leaving one out that the builder does use would let two
    different networks share trained folds.
    """
    if name not in ARCHS:
        raise ValueError(f"arch {name!r} must also be listed in solution.config.ARCHS")
    unknown = [field for field in reads if field not in NETWORK_FIELDS]
    if unknown:
        raise ValueError(f"arch {name!r} reads {', '.join(unknown)}: not in "
                         "solution.config.NETWORK_FIELDS")

    def add(builder: Builder) -> Builder:
        _REGISTRY[name] = builder
        _READS[name] = tuple(field for field in NETWORK_FIELDS if field in reads)
        return builder

    return add


def list_models() -> list[str]:
    """Registered architecture names, in `ARCHS` order."""
    return [name for name in ARCHS if name in _REGISTRY]


def network_fields(arch: str) -> tuple[str, ...]:
    """The `NETWORK_FIELDS` that the builder of `arch` reads, in `NETWORK_FIELDS` order."""
    try:
        return _READS[arch]
    except KeyError:
        raise ValueError(f"arch {arch!r} has no builder; registered: "
                         f"{', '.join(list_models())}") from None


def fields_read(arch: str) -> tuple[str, ...]:
    """Every `Config` field that shapes what `arch` trains: `arch` itself, the training fields
    (read by every architecture) and the network fields its builder reads."""
    return ("arch", *TRAINING_FIELDS, *network_fields(arch))


def create_model(cfg: Config) -> keras.Model:
    """The network `cfg.arch`, freshly initialised (uses Keras' global seed)."""
    try:
        builder = _REGISTRY[cfg.arch]
    except KeyError:
        raise ValueError(f"arch {cfg.arch!r} has no builder; registered: "
                         f"{', '.join(list_models())}") from None
    return builder(cfg)


@register("cnn", reads=NETWORK_FIELDS)  # all of them: width .. head_width, and channels
def cnn(cfg: Config) -> keras.Model:
    return build_model(cfg)


def simple_cnn(cfg: Config) -> keras.Model:
    """An et al.'s family: valid kernel x kernel convs (no bias under BN), flatten, dense + BN.

    The paper uses no dropout and no pooling: the valid convs alone shrink 28 -> 8 (M3, M5) or
    -> 4 (M7). Widths come from `cfg.layer_widths()` (the paper's, or pruned `channels`);
    `batch_norm` and `bn_momentum` are honoured; `dropout` is not used.
    """
    import keras
    from keras import layers

    from solution.models.layers import FusedBatchNormalization

    kernel = SIMPLE_CNNS[cfg.arch][0]
    x = inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    for i, width in enumerate(cfg.layer_widths()):
        x = layers.Conv2D(width, kernel, use_bias=not cfg.batch_norm, name=f"conv{i}")(x)
        if cfg.batch_norm:
            x = FusedBatchNormalization(momentum=cfg.bn_momentum, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(NUM_CLASSES, use_bias=not cfg.batch_norm, name="logits")(x)
    if cfg.batch_norm:
        x = FusedBatchNormalization(momentum=cfg.bn_momentum, name="bn_logits")(x)
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=cfg.arch)


for _name in SIMPLE_CNNS:  # m3, m5, m7: widths and kernels in solution.config.SIMPLE_CNNS
    register(_name, reads=("batch_norm", "bn_momentum", "channels"))(simple_cnn)


@register("lenet5", reads=())  # fixed widths, no BN, no dropout
def lenet5(cfg: Config) -> keras.Model:
    """LeNet-5 on 28x28 input: C1 6@5x5 'same' (the original padded 28 -> 32), S2, C3 16@5x5,
    S4, F5 120, F6 84, softmax.

    Modernised as the notebooks do: ReLU instead of scaled tanh, 2x2 max-pool instead of
    trainable average subsampling, C3 fully connected instead of the sparse connection table,
    softmax instead of RBF outputs. No BN and no dropout, so the row measures the classic net.
    """
    import keras
    from keras import layers

    x = inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv0")(x)
    x = layers.MaxPooling2D(2, name="pool0")(x)
    x = layers.Conv2D(16, 5, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation="relu", name="dense0")(x)
    x = layers.Dense(84, activation="relu", name="dense1")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities",
                           dtype="float32")(x)
    return keras.Model(inputs, outputs, name="lenet5")


def mlp(cfg: Config, units: Sequence[int], name: str) -> keras.Model:
    """Flatten, then dense -> (BN) -> ReLU -> dropout per hidden layer; `dropout`, `batch_norm`
    and `bn_momentum` are honoured."""
    import keras
    from keras import layers

    from solution.models.layers import FusedBatchNormalization

    x = inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(units):
        x = layers.Dense(width, use_bias=not cfg.batch_norm, name=f"dense{i}")(x)
        if cfg.batch_norm:
            x = FusedBatchNormalization(momentum=cfg.bn_momentum, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.Dropout(cfg.dropout, name=f"drop{i}")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities",
                           dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


MLP_READS = ("dropout", "batch_norm", "bn_momentum")  # fixed units per network


@register("mlp512", reads=MLP_READS)
def mlp512(cfg: Config) -> keras.Model:
    return mlp(cfg, (512, 256, 128), "mlp512")


@register("mlp1024", reads=MLP_READS)
def mlp1024(cfg: Config) -> keras.Model:
    return mlp(cfg, (1024, 512, 256), "mlp1024")
