"""Parity checks between the Keras members, the fp32 ONNX graph and its int8 twin.

Every check is a `Check` with its measured value, its limit and whether it passed; the export
publishes nothing unless all of them pass. The limits live in one frozen `Thresholds`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    fp32_max_abs_diff: float = 1e-4  # Keras vs fp32 ONNX, max |dp| over all images and classes
    fp32_min_images: int = 2000  # parity images the fp32 comparison must cover
    int8_min_agreement: float = 0.998  # int8 vs Keras argmax agreement on the OOF images
    int8_max_drop_pp: float = 0.1  # OOF accuracy the int8 graph may lose, percentage points
    pruned_max_drop_pp: float = 0.05  # OOF accuracy pruning may cost, percentage points
    sum_tolerance: float = 1e-4  # |sum of probabilities - 1|, every row of both graphs

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def smoke(cls) -> Thresholds:
        """For smoke runs only: their members are barely trained, their top two probabilities
        nearly tie, and int8 rounding flips a few percent of them however it is calibrated. The
        fp32 and pruning limits stay as they are; the manifest records which limits applied."""
        return cls(int8_min_agreement=0.90, int8_max_drop_pp=5.0)


def thresholds_for(profile: str) -> Thresholds:
    """The issue's limits, except for the int8 ones of a smoke run (see `Thresholds.smoke`)."""
    return Thresholds.smoke() if profile == "smoke" else Thresholds()


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probs.argmax(1) == labels))


def fp32_checks(keras_probs: np.ndarray, onnx_probs: np.ndarray, limits: Thresholds,
                detail: str = "") -> list[Check]:
    """Keras ensemble vs fp32 ONNX on the parity images: |dp|, argmax, image count."""
    diff = float(np.abs(keras_probs.astype(np.float64) - onnx_probs).max())
    flips = int(np.sum(keras_probs.argmax(1) != onnx_probs.argmax(1)))
    return [
        Check("fp32 parity images", len(onnx_probs), limits.fp32_min_images,
              len(onnx_probs) >= limits.fp32_min_images, detail),
        Check("fp32 vs Keras max abs(dp)", diff, limits.fp32_max_abs_diff,
              bool(diff <= limits.fp32_max_abs_diff)),
        Check("fp32 vs Keras argmax differences", flips, 0, flips == 0),
    ]


def int8_checks(reference_oof: np.ndarray, int8_oof: np.ndarray, labels: np.ndarray,
                limits: Thresholds, reference: str = "Keras") -> list[Check]:
    """int8 vs its reference (the Keras members, or a package's fp32 graph when re-quantizing)
    on the out-of-fold images (each member on its own validation fold)."""
    agreement = float(np.mean(reference_oof.argmax(1) == int8_oof.argmax(1)))
    drop = 100.0 * (accuracy(reference_oof, labels) - accuracy(int8_oof, labels))
    return [
        Check(f"int8 vs {reference} argmax agreement (OOF)", agreement,
              limits.int8_min_agreement,
              agreement >= limits.int8_min_agreement, f"{len(labels)} OOF images"),
        Check("int8 accuracy drop, pp (OOF)", drop, limits.int8_max_drop_pp,
              drop <= limits.int8_max_drop_pp + 1e-9),
    ]


def pruning_check(unpruned_oof: np.ndarray, exported_oof: np.ndarray, labels: np.ndarray,
                  limits: Thresholds) -> Check:
    """Exported (pruned where kept) members vs the unpruned ones, OOF accuracy."""
    drop = 100.0 * (accuracy(unpruned_oof, labels) - accuracy(exported_oof, labels))
    return Check("pruned vs unpruned drop, pp (OOF)", drop, limits.pruned_max_drop_pp,
                 drop <= limits.pruned_max_drop_pp + 1e-9)


def sanity_checks(name: str, probs: np.ndarray, batch_one: np.ndarray,
                  limits: Thresholds) -> list[Check]:
    """Finite probabilities that sum to 1, and a batch of one equal to the same row in a batch."""
    finite = bool(np.isfinite(probs).all())
    worst = float(np.abs(probs.sum(1) - 1.0).max()) if finite else float("inf")
    batch_diff = float(np.abs(batch_one - probs[:1]).max())
    return [
        Check(f"{name} rows sum to 1 (max abs(sum-1))", worst, limits.sum_tolerance,
              worst <= limits.sum_tolerance),
        Check(f"{name} batch of 1 vs batch (max abs(dp))", batch_diff, limits.sum_tolerance,
              batch_diff <= limits.sum_tolerance),
    ]


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]


def failure_summary(failed: list[Check]) -> str:
    """One line for a refusal: the first failed check, and how many more failed."""
    worst = failed[0]
    return (f"check failed: {worst.name} = {worst.value:.6g} (limit {worst.limit:g})"
            + (f" and {len(failed) - 1} more" if len(failed) > 1 else ""))
