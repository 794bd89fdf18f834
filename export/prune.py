"""Structured filter pruning of the conv families (`solution.config.PRUNABLE`): fewer filters.

Whole filters are removed, so the pruned network is an ordinary, narrower member of the same
family, `create_model(cfg.replace(channels=kept_widths))`, and the exported ONNX graph really does
fewer multiply-adds (unstructured sparsity would not speed up onnxruntime on a CPU). Keras 3 has
no maintained pruning library (tensorflow-model-optimization supports Keras 2 only), hence this.

A filter's importance is the L1 norm of its kernel after folding in the batch-norm scale
(|gamma| / sqrt(var + eps)): that is the L1 norm of the filter the exported graph actually
computes, since the converter folds BN into the conv. A filter whose BN scale has shrunk to
nothing is unimportant however large its raw kernel is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from solution.config import PRUNABLE, Config
from solution.models.cnn import count_macs
from solution.models.zoo import create_model

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class PrunePlan:
    """How wide every conv layer stays, and what that saves."""

    widths: tuple[int, ...]  # kept filters per conv layer, build order
    share: float  # the uniform share of filters removed per layer (before floors and rounding)
    macs_before: int
    macs_after: int

    @property
    def mac_reduction(self) -> float:
        return 1.0 - self.macs_after / self.macs_before


def filter_importance(model: keras.Model, index: int) -> np.ndarray:
    """(C,) L1 norm of each filter of conv{index}, scaled by its folded batch-norm factor."""
    conv = model.get_layer(f"conv{index}")
    kernel = np.asarray(conv.kernel)  # (kh, kw, cin, cout)
    score = np.abs(kernel).sum(axis=(0, 1, 2))
    bn = _layer_or_none(model, f"bn{index}")
    if bn is not None:
        gamma = np.asarray(bn.gamma) if bn.scale else np.ones_like(score)
        score = score * np.abs(gamma) / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    return score


def widths_for_share(widths: tuple[int, ...], share: float, first_floor: float = 0.5,
                     multiple: int = 4) -> tuple[int, ...]:
    """Remove `share` of every layer's filters, rounded to `multiple` (kernels like multiples).

    The input-facing first conv never keeps fewer than `first_floor` of its filters: it is cheap
    (one input channel) and every later layer sees the image only through it.
    """
    kept = []
    for i, width in enumerate(widths):
        keep = width * (1.0 - share)
        if i == 0:
            keep = max(keep, width * first_floor)
        keep = max(multiple, multiple * round(keep / multiple)) if width > multiple else width
        kept.append(int(min(width, keep)))
    return tuple(kept)


def plan_pruning(cfg: Config, target_reduction: float, first_floor: float = 0.5,
                 multiple: int = 4, step: float = 0.025) -> PrunePlan:
    """The smallest uniform share (in `step`s) whose network needs `target_reduction` fewer MACs.

    Raises ValueError when no share reaches the target (e.g. a network already at the minimum)
    or the architecture has no conv widths to narrow.
    """
    if cfg.arch not in PRUNABLE:
        raise ValueError(f"arch {cfg.arch} has no conv widths to prune")
    widths = cfg.layer_widths()
    before = count_macs(create_model(cfg))
    share = 0.0
    while share < 0.95:
        share = round(share + step, 6)
        kept = widths_for_share(widths, share, first_floor, multiple)
        after = count_macs(create_model(cfg.replace(channels=kept)))
        if after <= (1.0 - target_reduction) * before:
            return PrunePlan(kept, share, before, after)
    raise ValueError(f"no pruning share reaches {target_reduction:.0%} fewer MACs for widths "
                     f"{widths}")


def kept_filters(model: keras.Model, widths: tuple[int, ...]) -> list[np.ndarray]:
    """Per conv layer, the sorted indices of the `widths[i]` most important filters."""
    kept = []
    for i, width in enumerate(widths):
        score = filter_importance(model, i)
        if width > len(score):
            raise ValueError(f"conv{i} has {len(score)} filters, cannot keep {width}")
        kept.append(np.sort(np.argsort(-score, kind="stable")[:width]))
    return kept


def prune_model(model: keras.Model, cfg: Config, widths: tuple[int, ...]) -> tuple[
        keras.Model, Config]:
    """A new, narrower model of the same family holding the kept filters' weights.

    Copies, per conv layer, the kernel's output slice (and input slice of the kept filters of the
    layer before), the bias or BN gamma/beta/moving statistics, and finally the input slice of
    the first dense layer: Flatten of an (h, w, C) map puts channel c of position p at row
    p * C + c (a 1x1 map after the CNN's conv head, 8x8 after M3's convs), and after global
    pooling the dense head takes channels directly, which is the same rule with one position.
    """
    import keras

    if len(widths) != cfg.conv_layers:
        raise ValueError(f"widths has {len(widths)} entries, the network has "
                         f"{cfg.conv_layers} conv layers")
    pruned_cfg = cfg.replace(channels=tuple(int(w) for w in widths))
    pruned = create_model(pruned_cfg)
    kept = kept_filters(model, pruned_cfg.channels)
    sliced: set[str] = set()
    previous = None  # kept output channels of the layer before (None: the image)
    for i, out_idx in enumerate(kept):
        conv = model.get_layer(f"conv{i}")
        weights = [np.asarray(w) for w in conv.get_weights()]
        kernel = weights[0] if previous is None else weights[0][:, :, previous, :]
        new = [kernel[..., out_idx]] + [w[out_idx] for w in weights[1:]]  # bias, if any
        pruned.get_layer(f"conv{i}").set_weights(new)
        sliced.add(f"conv{i}")
        bn = _layer_or_none(model, f"bn{i}")
        if bn is not None:
            pruned.get_layer(f"bn{i}").set_weights([np.asarray(w)[out_idx]
                                                    for w in bn.get_weights()])
            sliced.add(f"bn{i}")
        previous = out_idx
    consumer = next(layer.name for layer in model.layers
                    if isinstance(layer, keras.layers.Dense))
    weights = [np.asarray(w) for w in model.get_layer(consumer).get_weights()]
    units = weights[0].shape[1]
    channels = model.get_layer(f"conv{len(kept) - 1}").filters
    kernel = weights[0].reshape(-1, channels, units)[:, previous, :].reshape(-1, units)
    pruned.get_layer(consumer).set_weights([kernel, *weights[1:]])
    sliced.add(consumer)
    for layer in pruned.layers:
        if layer.name not in sliced and layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return pruned, pruned_cfg


def recalibrate_batch_norm(model: keras.Model, images: np.ndarray, batch_size: int = 500) -> None:
    """Set every BN layer's moving mean/variance to the statistics its input now has.

    Removing filters removes their (post-ReLU, positive) mean contribution from the next layer,
    so the next BN subtracts a stale mean; compounded over the layers this collapsed a trained
    99.3% member to 15% before fine-tuning. Layer by layer, in order, because each layer's
    statistics depend on the layers before it. `images`: (N, 28, 28, 1) float32 training images.
    """
    import keras

    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        probe = keras.Model(model.inputs[0], layer.input)
        total = total_sq = 0.0
        count = 0
        for start in range(0, len(images), batch_size):
            out = np.asarray(probe(images[start:start + batch_size], training=False),
                             np.float64)
            flat = out.reshape(-1, out.shape[-1])
            total = total + flat.sum(0)
            total_sq = total_sq + (flat**2).sum(0)
            count += len(flat)
        mean = total / count
        var = np.maximum(total_sq / count - mean**2, 0.0)
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(var.astype(np.float32))


def _layer_or_none(model: keras.Model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        return None
