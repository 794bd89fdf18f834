"""Choosing and judging the int8 graph out of fold.

Shared by `make export` (the members it has just prepared) and `make requantize` (the members of
a published package), so both judge int8 alike: every member is cut out of the ensemble graph and
run on its own validation fold, the rows are combined as `submit` averages, and the calibration
method that reads the most of them right is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from export.confidence import recommend_min_confidence
from export.convert import member_graph, run_onnx, session
from export.parity import accuracy
from export.quantize import quantize
from solution.data.competition import NUM_CLASSES

Log = Callable[[str], None]
TARGET_ACCURACY = 0.999  # of the int8 readings min_confidence accepts, out of fold
MIN_ACCEPTED_SHARE = 0.9  # of the images min_confidence must still accept
NO_THRESHOLD_NOTE = ("min_confidence: no threshold reaches 99.9% OOF accuracy while keeping 90% "
                     "of the images; 0.0 recommended (reject nothing)")


class Validated(Protocol):
    """A member as far as out-of-fold figures need it: its validation rows and its weight."""

    val_index: np.ndarray
    weight: float


@dataclass(frozen=True)
class Int8Choice:
    method: str  # the calibration method kept
    path: Path
    oof: np.ndarray  # (rows, 10) int8 out-of-fold probabilities
    trials: dict[str, dict[str, float]]  # method -> accuracy and agreement with the reference


def covered(members: Sequence[Validated], rows: int) -> np.ndarray:
    """The rows some member validated on (all of them in a full run)."""
    mask = np.zeros(rows, bool)
    for member in members:
        mask[member.val_index] = True
    return mask


def oof(members: Sequence[Validated], probs: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """Out-of-fold probabilities: each row is the weighted mean of the members that validated
    on it (equal weights in a one-architecture run, one share per architecture otherwise)."""
    total = np.zeros((rows, NUM_CLASSES), np.float64)
    weight = np.zeros(rows)
    for member, member_probs in zip(members, probs, strict=True):
        total[member.val_index] += member.weight * member_probs
        weight[member.val_index] += member.weight
    return (total / np.where(weight > 0, weight, 1.0)[:, None]).astype(np.float32)


def member_probs(graph: Path, images: np.ndarray, members: Sequence[Validated], work: Path,
                 threads: int | None) -> list[np.ndarray]:
    """Each member cut out of `graph` (member k is the graph's k-th), run on its own fold."""
    return [run_onnx(session(member_graph(graph, work / f"oof-member{k}.onnx", k), threads),
                     images[member.val_index])
            for k, member in enumerate(members)]


def onnx_oof(graph: Path, images: np.ndarray, members: Sequence[Validated], work: Path,
             threads: int | None) -> np.ndarray:
    return oof(members, member_probs(graph, images, members, work, threads), len(images))


def choose_int8(fp32: Path, images: np.ndarray, labels: np.ndarray,
                members: Sequence[Validated], reference_oof: np.ndarray,
                calibration: np.ndarray, methods: Sequence[str], work: Path,
                threads: int | None, say: Log) -> Int8Choice:
    """Quantize `fp32` once per calibration method; keep the best out-of-fold accuracy (then
    agreement with `reference_oof`, the graph int8 must follow)."""
    rows = covered(members, len(labels))
    trials, paths, oofs = {}, {}, {}
    for method in methods:
        paths[method] = quantize(fp32, work / f"int8-{method}.onnx", calibration, method)
        oofs[method] = onnx_oof(paths[method], images, members, work, threads)
        trials[method] = {
            "accuracy": accuracy(oofs[method][rows], labels[rows]),
            "agreement": float(np.mean(oofs[method][rows].argmax(1)
                                       == reference_oof[rows].argmax(1)))}
        say(f"  {method}: OOF accuracy {trials[method]['accuracy']:.5f}, agreement "
            f"{trials[method]['agreement']:.5f}")
    best = max(trials, key=lambda m: (trials[m]["accuracy"], trials[m]["agreement"]))
    return Int8Choice(best, paths[best], oofs[best], trials)


def calibration_record(choice: Int8Choice, images: int) -> dict[str, Any]:
    return {"method": choice.method, "images": images,
            "source": "training rows, class-balanced sample", "trials": choice.trials}


def min_confidence_record(int8_oof: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The manifest's `min_confidence_basis`: the lowest threshold at which the accepted int8
    OOF readings are TARGET_ACCURACY right while MIN_ACCEPTED_SHARE of the images are accepted
    (0.0 where none is)."""
    threshold, accepted_accuracy, share, reached = recommend_min_confidence(
        int8_oof, labels, TARGET_ACCURACY, MIN_ACCEPTED_SHARE)
    return {"value": threshold, "basis": "int8 OOF predictions",
            "target_accuracy": TARGET_ACCURACY, "min_accepted_share": MIN_ACCEPTED_SHARE,
            "accepted_accuracy": accepted_accuracy, "accepted_share": share, "reached": reached}
