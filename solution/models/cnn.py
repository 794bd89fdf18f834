"""`build_model(cfg) -> keras.Model`: the CNN family, inference layers only.

Augmentation lives in the input pipeline (`solution.training.augment`), so the model that is
saved and exported holds nothing but what runs at prediction time. Input: (N, 28, 28, 1) float32
in 0..1; output: softmax probabilities (N, 10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from solution.config import Config
from solution.data.competition import NUM_CLASSES

if TYPE_CHECKING:
    import keras

IMAGE_SHAPE = (28, 28, 1)


def build_model(cfg: Config, name: str = "digits_cnn") -> keras.Model:
    """A compiled-free functional model; layer names are stable so pruning can find them."""
    import keras
    from keras import layers

    from solution.models.layers import FusedBatchNormalization

    widths = iter(cfg.layer_widths())
    conv_index = 0

    def conv_bn(x, kernel: int, strides: int = 1, padding: str = "valid"):
        nonlocal conv_index
        x = layers.Conv2D(next(widths), kernel, strides=strides, padding=padding,
                          use_bias=not cfg.batch_norm, name=f"conv{conv_index}")(x)
        if cfg.batch_norm:
            x = FusedBatchNormalization(momentum=cfg.bn_momentum, name=f"bn{conv_index}")(x)
        x = layers.Activation("relu", name=f"relu{conv_index}")(x)
        conv_index += 1
        return x

    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = inputs
    for stage in range(cfg.stages):
        for _ in range(cfg.convs_per_stage):
            # valid padding while the map is large (the recipe's 28->24), same once it is small
            padding = "valid" if x.shape[1] > 8 else "same"
            x = conv_bn(x, cfg.kernel_size, padding=padding)
        if cfg.downsample == "strided":
            x = conv_bn(x, 5, strides=2, padding="same")
        else:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        x = layers.Dropout(cfg.dropout, name=f"drop{stage}")(x)
    if cfg.head == "conv":
        x = conv_bn(x, int(x.shape[1]))  # a full-size valid conv: spatial map -> 1x1
        x = layers.Flatten(name="flatten")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="gap")(x)
        x = layers.Dense(cfg.head_width, use_bias=not cfg.batch_norm, name="dense_head")(x)
        if cfg.batch_norm:
            x = FusedBatchNormalization(momentum=cfg.bn_momentum, name="bn_head")(x)
        x = layers.Activation("relu", name="relu_head")(x)
    x = layers.Dropout(cfg.dropout, name="drop_head")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities",
                           dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one forward pass for one image (convs and dense layers)."""
    from keras import layers

    macs = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, oh, ow, _ = layer.output.shape
            macs += int(kh * kw * cin * cout * oh * ow)
        elif isinstance(layer, layers.Dense):
            cin, cout = layer.kernel.shape
            macs += int(cin * cout)
    return macs
