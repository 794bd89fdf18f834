"""Make the field confidence mean what it says: fields read at 0.9 right about 90% of the time.

The two readers' raw confidence (combine.py) ranks fields well but is not a probability: fields
at 0.98 were right and wrong alike on real ink. `digit-edge bench --record` fits, per format, a
logistic map of the raw confidence's log-odds (Platt scaling: two numbers) on held-out fields no
model trained on, and writes it into the manifest; the reader applies it to every field it
reads. Monotonic, so it changes no ranking, only what the number says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EDGE = 1e-6          # raw confidences are clipped this far from 0 and 1 before the log-odds
NEWTON_STEPS = 50
RIDGE = 1e-3         # keeps the fit finite on a set that is all right or all wrong


@dataclass(frozen=True)
class Platt:
    """calibrated = sigmoid(slope * logit(raw) + offset)."""

    slope: float = 1.0
    offset: float = 0.0

    def __call__(self, raw: float) -> float:
        z = self.slope * logit(raw) + self.offset
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def as_json(self) -> dict:
        return {"slope": round(self.slope, 6), "offset": round(self.offset, 6)}


def logit(p: float) -> float:
    p = min(max(p, EDGE), 1.0 - EDGE)
    return math.log(p / (1.0 - p))


def fit(raw: np.ndarray, right: np.ndarray) -> Platt:
    """The Platt map of raw confidences (N,) to the chance they are right (N,) bool, by damped
    Newton steps on the logistic log-likelihood (a tiny ridge keeps separable sets finite)."""
    x = np.array([logit(float(p)) for p in raw])
    y = right.astype(np.float64)
    design = np.stack([x, np.ones_like(x)], axis=1)

    def loss(w: np.ndarray) -> float:
        z = design @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + RIDGE * (w @ w) / 2)

    w = np.array([1.0, 0.0])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -700, 700)))
        gradient = design.T @ (p - y) + RIDGE * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + RIDGE * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        before = loss(w)
        while loss(w - step) > before and np.abs(step).max() > 1e-12:
            step = step / 2  # Newton overshoots where the raw scores saturate: halve it
        w = w - step
        if np.abs(step).max() < 1e-9:
            break
    return Platt(float(w[0]), float(w[1]))


def from_manifest(entry: object) -> dict[str, Platt]:
    """{format: Platt} from the manifest's field_calibration entry (absent or bad: none)."""
    if not isinstance(entry, dict):
        return {}
    maps = {}
    for name, value in entry.items():
        if isinstance(value, dict) and all(isinstance(value.get(k), int | float)
                                           for k in ("slope", "offset")):
            maps[name] = Platt(float(value["slope"]), float(value["offset"]))
    return maps
