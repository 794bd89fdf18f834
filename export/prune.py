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

import math
from collections.abc import Callable, Sequence
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


def mac_counter(cfg: Config) -> Callable[[Sequence[int]], int]:
    """MACs of `cfg`'s network at any conv widths, from one build of it.

    The planner weighs dozens of candidate widths; building each network (0.1 s) to count them
    would take tens of seconds for An et al.'s ten-layer M3. In these chains conv i costs
    kh * kw * out_h * out_w * (width i-1) * (width i), the first dense layer's input grows with
    the last conv's width, and the later dense layers do not change.
    """
    import keras

    model = create_model(cfg)
    widths = cfg.layer_widths()
    image_channels = int(model.get_layer("conv0").kernel.shape[2])
    factors = []
    for i in range(len(widths)):
        conv = model.get_layer(f"conv{i}")
        kh, kw, _, _ = conv.kernel.shape
        _, oh, ow, _ = conv.output.shape
        factors.append(int(kh * kw * oh * ow))
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    first_in, first_units = (int(d) for d in dense[0].kernel.shape)
    per_channel = first_in // widths[-1]
    fixed = sum(int(d.kernel.shape[0]) * int(d.kernel.shape[1]) for d in dense[1:])

    def macs(kept: Sequence[int]) -> int:
        total, previous = fixed + per_channel * kept[-1] * first_units, image_channels
        for factor, width in zip(factors, kept, strict=True):
            total += factor * previous * width
            previous = width
        return total

    return macs


def width_groups(widths: Sequence[int]) -> list[range]:
    """Runs of neighbouring layers of one width (a stage): they narrow together, so a stage
    stays one width, as the architecture built it."""
    groups: list[range] = []
    start = 0
    for i in range(1, len(widths) + 1):
        if i == len(widths) or widths[i] != widths[start]:
            groups.append(range(start, i))
            start = i
    return groups


def plan_pruning(cfg: Config, target_reduction: float, floor: float = 0.5,
                 multiple: int = 8) -> PrunePlan:
    """The network needing `target_reduction` fewer MACs that the planner reaches by narrowing,
    one `multiple` of filters at a time, the stage where a removed filter saves the most MACs.

    Filters are not equal: one of the first stage works on the 28x28 map and costs several
    times what one after the downsampling does, so that stage narrows first and the network
    keeps more filters for the same MACs. Widths stay multiples of `multiple`: onnxruntime's
    int8 convolutions ran a first stage of 20 filters nearly as slow as the unpruned 24 and
    clearly slower than 16 (`make bench-widths`, README). No stage keeps fewer than `floor` of
    its filters: a stage narrowed further would starve the layers after it (the input-facing
    one most: they see the image only through it).

    Raises ValueError when no narrowing reaches the target (e.g. a network already at the
    minimum) or the architecture has no conv widths to narrow.
    """
    if cfg.arch not in PRUNABLE:
        raise ValueError(f"arch {cfg.arch} has no conv widths to prune")
    widths = cfg.layer_widths()
    macs = mac_counter(cfg)
    before, kept = macs(widths), list(widths)
    groups = width_groups(widths)
    steps = [multiple if widths[g.start] >= 2 * multiple else max(1, multiple // 2)
             for g in groups]  # a narrow stage (the smoke profile's 8) in halves of it
    floors = [step * math.ceil(floor * widths[group.start] / step)
              for group, step in zip(groups, steps, strict=True)]
    while (current := macs(kept)) > (1.0 - target_reduction) * before:
        best: tuple[float, list[int]] | None = None
        for group, step, least in zip(groups, steps, floors, strict=True):
            width = kept[group.start]
            narrower = (width - 1) // step * step
            if narrower < least:
                continue
            trial = [narrower if i in group else w for i, w in enumerate(kept)]
            # MACs saved per share of the stage's filters removed: the same step costs a
            # narrow stage a larger share of what it has left, so no stage becomes a bottleneck
            saved = (current - macs(trial)) * width / ((width - narrower) * len(group))
            if best is None or saved > best[0]:
                best = saved, trial
        if best is None:
            raise ValueError(f"no narrower network reaches {target_reduction:.0%} fewer MACs "
                             f"for widths {widths}")
        kept = best[1]
    after = count_macs(create_model(cfg.replace(channels=tuple(kept))))
    return PrunePlan(tuple(kept), before, after)


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
