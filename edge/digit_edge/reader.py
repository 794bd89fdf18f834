"""DigitReader: the Python API. One onnxruntime session per reader, reused for every call.

    reader = DigitReader()                  # bundled int8 model, its recommended min_confidence
    res = reader.classify(batch)            # (N, 28, 28) MNIST arrays, or a list of images/paths
    res.digits, res.confidences, res.probabilities
    field = reader.read_field("zip.png")    # field.text == "60614", "?" where rejected
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .errors import ArrayError, DigitEdgeError, InputError
from .field import segment_line
from .imaging import ImageLike, describe, load_gray
from .ink import find_ink
from .model import ModelSpec, open_session, resolve
from .normalize import as_mnist_batch, fit_to_frame, normalize

FIELD_MAX_SIDE = 2400         # a field is analysed at most this wide...
FIELD_MAX_PIXELS = 600_000    # ...and this large: digit heights of ~100 px are plenty
BATCH = 256                   # inference batch: bounded memory, near-full throughput


@dataclass(frozen=True)
class Classification:
    """Per input: digit (-1 rejected or unreadable), confidence, probabilities (N, 10).

    errors maps the index of each input that could not be read to its message; those rows have
    digit -1, confidence NaN and probabilities NaN.
    """

    digits: np.ndarray          # (N,) int64
    confidences: np.ndarray     # (N,) float32, the top probability
    probabilities: np.ndarray   # (N, 10) float32
    min_confidence: float
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """(N,) bool: the input was read (whether or not its digit was rejected)."""
        ok = np.ones(len(self.digits), dtype=bool)
        ok[list(self.errors)] = False
        return ok

    @property
    def rejected(self) -> np.ndarray:
        """(N,) bool: read, but below min_confidence: route it to a person."""
        return self.ok & (self.digits < 0)


@dataclass(frozen=True)
class FieldDigit:
    digit: int | None                # None where rejected
    confidence: float
    box: tuple[int, int, int, int]   # (x0, y0, x1, y1) in the input image's pixels, x1/y1 exclusive


@dataclass(frozen=True)
class FieldReading:
    text: str                        # the digits left to right, "?" for each rejected one
    digits: list[FieldDigit]


class DigitReader:
    """Reads digits with one ONNX model.

    model: None (bundled default, int8), "int8" / "fp32" (bundled variant), or a path to an
    .onnx file, a manifest.json or a folder holding one. threads: onnxruntime intra-op threads
    (None = its default). min_confidence: reject threshold 0..1 (None = the manifest's).
    """

    def __init__(self, model: str | os.PathLike | None = None, threads: int | None = None,
                 min_confidence: float | None = None) -> None:
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {min_confidence!r}")
        self.spec: ModelSpec = resolve(model)
        self.session = open_session(self.spec, threads)
        self.min_confidence = (self.spec.min_confidence if min_confidence is None
                               else float(min_confidence))

    # -- single digits -------------------------------------------------------------------------

    def classify(self, inputs: np.ndarray | ImageLike | Sequence[ImageLike]) -> Classification:
        """Classify digits: an MNIST-convention array batch, or images / paths to normalise.

        A single path or PIL image counts as a batch of one. One bad input never loses the
        others: it is listed in .errors. A wrongly shaped or typed array batch raises ArrayError.
        """
        batch, errors = self.prepare(inputs)
        return self.decide(self.predict(batch), errors)

    def prepare(self, inputs) -> tuple[np.ndarray, dict[int, str]]:
        """(N, 28, 28) float32 MNIST batch and {index: message} for inputs that failed."""
        if isinstance(inputs, np.ndarray):
            batch = as_mnist_batch(inputs, describe(inputs))
            bad = ~np.isfinite(inputs.reshape(len(batch), -1)).all(axis=1) \
                if inputs.dtype.kind == "f" else np.zeros(len(batch), dtype=bool)
            return batch, {int(i): f"row {i}: contains NaN or infinite pixels"
                           for i in np.flatnonzero(bad)}
        items = [inputs] if isinstance(inputs, str | os.PathLike | Image.Image) else list(inputs)
        batch = np.zeros((len(items), 28, 28), dtype=np.float32)
        errors: dict[int, str] = {}
        for index, item in enumerate(items):
            try:
                batch[index] = normalize(item)
            except InputError as exc:
                errors[index] = str(exc)
            except Exception as exc:  # a bug or an exotic file must not lose the whole batch
                errors[index] = unexpected(item, exc)
        return batch, errors

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) float32 for an (N, 28, 28) float32 0..1 batch."""
        out = np.empty((len(batch), 10), dtype=np.float32)
        for start in range(0, len(batch), BATCH):
            chunk = batch[start:start + BATCH, :, :, None].astype(np.float32, copy=False)
            out[start:start + BATCH] = self.session.run(["probabilities"], {"image": chunk})[0]
        return out

    def decide(self, probabilities: np.ndarray, errors: dict[int, str] | None = None,
               min_confidence: float | None = None) -> Classification:
        """Apply the reject option: digits below min_confidence become -1."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        probabilities = probabilities.astype(np.float32, copy=True)
        confidences = probabilities.max(axis=1) if len(probabilities) else np.zeros(0, np.float32)
        digits = np.where(confidences >= threshold, probabilities.argmax(axis=1), -1)
        errors = dict(errors or {})
        if errors:
            rows = list(errors)
            digits[rows] = -1
            confidences[rows] = np.nan
            probabilities[rows] = np.nan
        return Classification(digits.astype(np.int64), confidences, probabilities, threshold,
                              errors)

    # -- fields of several digits --------------------------------------------------------------

    def read_field(self, item: ImageLike, min_confidence: float | None = None) -> FieldReading:
        """Read a one-line field of digits (path, PIL image or array), left to right.

        min_confidence overrides the reader's threshold for this call. Raises an InputError
        subclass when the image cannot be read or holds no ink.
        """
        name = describe(item)
        if isinstance(item, np.ndarray) and item.ndim not in (2, 3):
            raise ArrayError(f"{name}: a field must be one image (H, W) or (H, W, 1|3|4)")
        gray, scale = load_gray(item, FIELD_MAX_SIDE, FIELD_MAX_PIXELS)
        ink = find_ink(gray, name)
        segments = segment_line(ink, name)
        batch = np.stack([fit_to_frame(_digit_strength(ink.strength, s.mask), s.mask)
                          for s in segments])
        result = self.decide(self.predict(batch), min_confidence=min_confidence)
        digits = []
        for segment, digit, confidence in zip(segments, result.digits, result.confidences,
                                              strict=True):
            box = tuple(round(v * scale) for v in segment.box)
            digits.append(FieldDigit(None if digit < 0 else int(digit), float(confidence), box))
        text = "".join("?" if d.digit is None else str(d.digit) for d in digits)
        return FieldReading(text, digits)

    def read_fields(self, items: Iterable[ImageLike]) -> list[FieldReading | DigitEdgeError]:
        """read_field over many inputs; a failed one yields its error, the rest go on."""
        results: list[FieldReading | DigitEdgeError] = []
        for item in items:
            try:
                results.append(self.read_field(item))
            except InputError as exc:
                results.append(exc)
            except Exception as exc:  # a bug or an exotic file must not lose the other fields
                results.append(InputError(unexpected(item, exc)))
        return results


def unexpected(item: ImageLike, exc: Exception) -> str:
    """The message for a failure digit_edge did not foresee: name the input and the error."""
    return f"{describe(item)}: could not be read ({type(exc).__name__}: {exc})"


def _digit_strength(strength: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The segment's ink plus its faint anti-aliased rim, without the neighbours' ink."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= grown[:, :-1]
    grown[:, :-1] |= grown[:, 1:]
    return np.where(grown, strength, 0.0).astype(np.float32)
