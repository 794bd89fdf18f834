"""DigitReader: the Python API. One onnxruntime session per reader, reused for every call.

    reader = DigitReader()                  # bundled int8 model, its recommended min_confidence
    res = reader.classify(batch)            # (N, 28, 28) MNIST arrays, or a list of images/paths
    res.digits, res.confidences, res.probabilities
    field = reader.read_field("env.png", format="zip+4")
    field.text, field.confidence, field.rejected, field.chars, field.value
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
from PIL import Image

from .annotate import Annotation, verdict
from .annotate import write as write_annotation
from .calibrate import from_manifest
from .combine import Candidate, Mixing, candidates, choose, weight
from .ctc import ALPHABET, align, decode
from .errors import (
    AnnotateError,
    ArrayError,
    BlankImageError,
    DigitEdgeError,
    FieldTooLongError,
    InputError,
    NotAFieldError,
)
from .field import Atom, FieldWork, Glyph, Line, candidate_glyphs, find_atoms
from .fieldmodel import open_field_model
from .formats import MAX_FIELD_CHARS, FieldFormat, format_key, parse_format
from .glyphs import KINDS, open_glyph_model
from .imaging import ImageLike, describe, load_gray
from .ink import Ink, find_ink, with_rim
from .lattice import (
    OTHER,
    SKIP,
    Path,
    Reading,
    char_options,
    cut_prior,
    geometry_prior,
    kind_weights,
    search,
    share,
    text_of,
    text_shares,
)
from .model import ModelSpec, open_session, resolve
from .normalize import as_mnist_batch, fit_to_frame, normalize
from .rules import find_rules, remove_rules
from .strip import Strip, field_strip

FIELD_MAX_SIDE = 2400         # a field is analysed at most this wide...
FIELD_MAX_PIXELS = 600_000    # ...and this large: digit heights of ~100 px are plenty
BATCH = 256                   # inference batch: bounded memory, near-full throughput
NOT_A_DIGIT = 0.1             # classify(): the glyph model gives the digit kind under 10%...
DIGIT_WORTH_READING = 0.02    # read_field(): the digit model reads glyphs a digit may be
FIELD_CHAR_MIN_CONFIDENCE = 0.5  # read_field(): a character more likely something else is "?"
MIN_JUNK = 4                  # a free reading with at least 4 non-digits (marks, "?")...
JUNK_SHARE = 0.5              # ...making over half of it is blots and dust, not a field
ROUGH_PIECES = 2000            # an image with more blob starts than this is noise to refuse,
                              # not a form to clean (a 60-digit line has a few hundred)
READERS = ("both", "lattice", "field")  # read_field with both readers, or one (to compare)
FORCED = 10.0                 # a format's best reading 10x less likely than what is written
                              # would be a guess shaped to the format: the field is rejected


@dataclass(frozen=True)
class Classification:
    """Per input: digit (-1 rejected or unreadable), confidence, probabilities (N, 10), and
    kind: "digit", a mark (".", ",", "-", "$") or "other" as the glyph model sees it; an input
    that is no digit is rejected whatever the digit model's confidence (unless min_confidence
    is 0, which accepts every input).

    errors maps the index of each input that could not be read to its message; those rows have
    digit -1, confidence NaN and probabilities NaN.
    """

    digits: np.ndarray          # (N,) int64
    confidences: np.ndarray     # (N,) float32, the top probability
    probabilities: np.ndarray   # (N, 10) float32
    min_confidence: float
    errors: dict[int, str] = field(default_factory=dict)
    kinds: np.ndarray | None = None  # (N,) str; None when the caller gave no glyph kinds

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
class FieldChar:
    kind: str                        # "digit", "mark", or "other" (neither: shown as "?")
    value: str                       # "7", "-", ".", ",", "$" or "?"
    confidence: float
    box: tuple[int, int, int, int]   # (x0, y0, x1, y1) in the input image's pixels, x1/y1 exclusive


@dataclass(frozen=True)
class FieldReading:
    """A field read left to right. text is canonical for its format ("12345-6789", "$1,234.56"),
    with "?" for each character read below min_confidence. confidence is for the whole field:
    accept it or send it to a person. rejected says the field cannot be trusted (it does not
    fit its format, or its confidence is below the field threshold), reason says why."""

    text: str
    digits: list[FieldDigit]         # the digit characters only, as before marks were read
    confidence: float = 0.0
    chars: list[FieldChar] = field(default_factory=list)
    value: Decimal | None = None     # an amount's value; None for other formats and rejects
    format: str | None = None
    rejected: bool = False
    reason: str | None = None
    work: FieldWork | None = None    # what reading it cost (pieces, glyphs, paths), for the bench


class DigitReader:
    """Reads digits with one ONNX model.

    model: None (bundled default, int8), "int8" / "fp32" (bundled variant), or a path to an
    .onnx file, a manifest.json or a folder holding one. threads: onnxruntime intra-op threads
    (None = its default). min_confidence: reject threshold 0..1 (None = the manifest's).
    readers: "both" (default: the field model and the segmenting reader together, see
    combine.py), or "lattice" / "field" alone, to measure what each adds.
    """

    def __init__(self, model: str | os.PathLike | None = None, threads: int | None = None,
                 min_confidence: float | None = None, readers: str = "both") -> None:
        if readers not in READERS:
            raise ValueError(f"readers must be one of {', '.join(READERS)}, got {readers!r}")
        self.readers = readers
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {min_confidence!r}")
        self.spec: ModelSpec = resolve(model)
        self.session = open_session(self.spec, threads)
        self.min_confidence = (self.spec.min_confidence if min_confidence is None
                               else float(min_confidence))
        # a field's characters carry the kind's doubt too: the single-digit threshold would show
        # sound digits as "?"; fields use their own unless the caller chose one
        self.char_min_confidence = (FIELD_CHAR_MIN_CONFIDENCE if min_confidence is None
                                    else float(min_confidence))
        self.field_min_confidence = self.spec.field_min_confidence
        self.glyphs = open_glyph_model(self.spec.path, threads)
        self.fields = open_field_model(self.spec.path, threads)
        self.mixing = Mixing()
        # {format: Platt}: what the raw field confidence means, fitted by `bench --record`
        self.calibration = from_manifest(self.spec.manifest.get("field_calibration"))

    # -- single digits -------------------------------------------------------------------------

    def classify(self, inputs: np.ndarray | ImageLike | Sequence[ImageLike]) -> Classification:
        """Classify digits: an MNIST-convention array batch, or images / paths to normalise.

        A single path or PIL image counts as a batch of one. One bad input never loses the
        others: it is listed in .errors. A wrongly shaped or typed array batch raises ArrayError.
        """
        batch, errors = self.prepare(inputs)
        return self.decide(self.predict(batch), errors, kinds=self.glyphs.kinds(batch))

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
               min_confidence: float | None = None,
               kinds: np.ndarray | None = None) -> Classification:
        """Apply the reject option: digits below min_confidence become -1, and so do inputs the
        glyph model's `kinds` (N, 6) call no digit, unless the threshold is 0 (accept everything:
        the digit model's reading of every input, as before the glyph model)."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        probabilities = probabilities.astype(np.float32, copy=True)
        confidences = probabilities.max(axis=1) if len(probabilities) else np.zeros(0, np.float32)
        digits = np.where(confidences >= threshold, probabilities.argmax(axis=1), -1)
        names = None
        if kinds is not None:
            not_digit = kinds[:, 0] < NOT_A_DIGIT
            if threshold > 0:
                digits = np.where(not_digit, -1, digits)
            best_other = kinds[:, 1:].argmax(axis=1) + 1
            names = np.array([KINDS[k] if no else "digit"
                              for k, no in zip(best_other, not_digit, strict=True)], dtype=object)
        errors = dict(errors or {})
        if errors:
            rows = list(errors)
            digits[rows] = -1
            confidences[rows] = np.nan
            probabilities[rows] = np.nan
        return Classification(digits.astype(np.int64), confidences, probabilities, threshold,
                              errors, names)

    # -- fields of several digits and marks ---------------------------------------------------

    def read_field(self, item: ImageLike, format: str | None = None, *,
                   expected_digits: int | None = None, min_confidence: float | None = None,
                   field_min_confidence: float | None = None, work: FieldWork | None = None,
                   annotate: str | os.PathLike | None = None) -> FieldReading:
        """Read a one-line field (path, PIL image or array): digits and marks, left to right.

        format: None (what is written, digits and marks), "zip", "zip+4", "amount" or "digits";
        expected_digits=N for other fixed-length numbers. min_confidence: below it a character
        shows as "?" (default: the reader's min_confidence when one was given, else 0.5: the
        field confidence is what accepts a field); field_min_confidence: below it the whole field
        is rejected (default: the manifest's recommended threshold for the format). work: a
        FieldWork to fill with what the reading cost, even when it raises. annotate: a PNG path
        to draw the reading on (the cleaned ink, removed rules, character boxes, the verdict),
        a refused field's reason too. Raises FormatError for an unknown format, an InputError
        subclass when the image cannot be read or holds no ink, NotAFieldError
        (FieldTooLongError) for ink that is no field of the format: noise, blobs, several lines,
        more than MAX_FIELD_CHARS characters; AnnotateError when the picture cannot be written.
        """
        fmt = parse_format(format, expected_digits)
        name = describe(item)
        work = work if work is not None else FieldWork()
        if isinstance(item, np.ndarray) and item.ndim not in (2, 3):
            raise ArrayError(f"{name}: a field must be one image (H, W) or (H, W, 1|3|4)")
        ink, removed, scale = clean_field(item, name)
        threshold = self.char_min_confidence if min_confidence is None else min_confidence
        try:
            reading = self._read(ink, name, fmt, work, scale, threshold, field_min_confidence)
        except InputError as exc:
            if annotate is not None:
                _annotate(annotate, Annotation(ink.strength, removed, scale,
                                               verdict=f"REFUSED: {_unnamed(exc, name)}"))
            raise
        if annotate is not None:
            _annotate(annotate, Annotation(
                ink.strength, removed, scale, tuple(reading.chars),
                verdict(reading.text, reading.confidence, reading.rejected, reading.reason),
                not reading.rejected, threshold))
        return replace(reading, work=work)

    def _read(self, ink: Ink, name: str, fmt: FieldFormat, work: FieldWork, scale: float,
              threshold: float, field_min_confidence: float | None) -> FieldReading:
        atoms, line = find_atoms(ink, name, fmt, work)
        glyphs = candidate_glyphs(atoms, line)
        options, totals = self._glyph_options(ink, atoms, glyphs, line, fmt, work)
        free = FieldFormat(None)
        unconstrained = search(len(atoms), glyphs, options, totals, free, work)
        constrained = (search(len(atoms), glyphs, options, totals, fmt, work) if fmt != free
                       else unconstrained)
        _check_written(unconstrained[0] if unconstrained else None, name)
        if self.fields is None or self.readers == "lattice":
            return self._decide(fmt, unconstrained, constrained, scale, threshold,
                                field_min_confidence)
        strip = field_strip(ink.strength, atoms, line)
        probabilities = self.fields.probabilities(strip.image)
        hypotheses = decode(probabilities, free)
        if fmt != free:
            hypotheses += decode(probabilities, fmt)
        lattice_paths: dict[str, Path] = {}
        shares: dict[str, float] = {}
        if self.readers == "both":
            for path in (*constrained, *unconstrained):
                lattice_paths.setdefault(text_of(path, fmt), path)
            shares = text_shares(fmt, unconstrained, constrained)
        found = candidates(fmt, hypotheses, shares,
                           {text: path.chars for text, path in lattice_paths.items()})
        if not found:  # neither reader has a reading: the field model saw no characters
            raise NotAFieldError(f"{name}: no characters read")
        best, overall, confidence = choose(found, self.mixing)

        def path_of(candidate: Candidate) -> Path:
            return lattice_paths.get(candidate.text) or _ctc_path(
                candidate.chars, probabilities, strip, ink.mask, line)

        if best is None or weight(overall, self.mixing) > FORCED * weight(best, self.mixing):
            total = sum(weight(c, self.mixing) for c in found)
            reading = _field_reading(path_of(overall), free, scale, threshold,
                                     weight(overall, self.mixing) / total)
            return replace(reading, format=fmt.label, rejected=True,
                           reason=fmt.why_not(overall.chars), value=None)
        reading = _field_reading(path_of(best), fmt, scale, threshold,
                                 self._calibrated(confidence, fmt))
        return self._thresholded(reading, fmt, field_min_confidence)

    def _calibrated(self, raw: float, fmt: FieldFormat) -> float:
        """The raw field confidence as the chance the field is right (calibrate.py)."""
        platt = self.calibration.get(format_key(fmt))
        return platt(raw) if platt is not None else raw

    def _decide(self, fmt: FieldFormat, unconstrained: list[Path], constrained: list[Path],
                scale: float, threshold: float,
                field_min_confidence: float | None) -> FieldReading:
        """The reading of the best path the format allows, or a rejected one saying why."""
        free = FieldFormat(None)
        forced = constrained and not fmt.accepts(unconstrained[0].chars) and \
            unconstrained[0].score - constrained[0].score > math.log(FORCED)
        if not constrained or forced:
            best = unconstrained[0]
            reading = _field_reading(best, free, scale, threshold,
                                     share(best, free, unconstrained))
            return replace(reading, format=fmt.label, rejected=True,
                           reason=fmt.why_not(best.chars), value=None)
        best = constrained[0]
        confidence = self._calibrated(share(best, fmt, unconstrained, constrained), fmt)
        reading = _field_reading(best, fmt, scale, threshold, confidence)
        return self._thresholded(reading, fmt, field_min_confidence)

    def _thresholded(self, reading: FieldReading, fmt: FieldFormat,
                     field_min_confidence: float | None) -> FieldReading:
        """The reading, rejected when its confidence is below the field threshold."""
        field_threshold = (self.spec.field_threshold(format_key(fmt))
                           if field_min_confidence is None else field_min_confidence)
        if reading.confidence < field_threshold:
            return replace(reading, rejected=True, value=None,
                           reason=f"confidence {reading.confidence:.3f} is below the field "
                           f"threshold {field_threshold:.3f}")
        return reading

    def _glyph_options(self, ink: Ink, atoms: list[Atom], glyphs: list[Glyph], line: Line,
                       fmt: FieldFormat, work: FieldWork
                       ) -> tuple[list[list[tuple[str, float]]], list[float]]:
        """Each candidate glyph's characters and probabilities: the glyph model and the geometry
        say which kind it is; the digit model, run only where a digit is plausible, which digit."""
        batch = np.stack([fit_to_frame(with_rim(ink.strength, g.mask, g.box), g.mask)
                          for g in glyphs])
        priors = np.stack([geometry_prior(g.box, line) * cut_prior(g, atoms) for g in glyphs])
        kinds = kind_weights(self.glyphs.kinds(batch), priors)
        wanted = np.flatnonzero(kinds[:, 0] >= DIGIT_WORTH_READING * kinds.sum(axis=1))
        work.glyphs, work.digit_reads = len(glyphs), int(wanted.size)
        digits: list[np.ndarray | None] = [None] * len(glyphs)
        if wanted.size:
            for index, probs in zip(wanted, self.predict(batch[wanted]), strict=True):
                digits[index] = probs
        skip = fmt != FieldFormat(None)
        options = [char_options(k, d, skip)
                   for k, d in zip(kinds, digits, strict=True)]
        return options, [float(t) for t in kinds.sum(axis=1)]

    def read_fields(self, items: Iterable[ImageLike], format: str | None = None, *,
                    expected_digits: int | None = None
                    ) -> list[FieldReading | DigitEdgeError]:
        """read_field over many inputs; a failed one yields its error, the rest go on."""
        parse_format(format, expected_digits)  # a bad format is the caller's error, raised once
        return [self.try_read_field(item, format, expected_digits=expected_digits)
                for item in items]

    def try_read_field(self, item: ImageLike, format: str | None = None, **options
                       ) -> FieldReading | DigitEdgeError:
        """read_field, returning the input's error instead of raising it (a bad format and a
        picture that cannot be written still raise: they are the caller's, not the input's)."""
        try:
            return self.read_field(item, format, **options)
        except InputError as exc:
            return exc
        except DigitEdgeError:
            raise
        except Exception as exc:  # a bug or an exotic file must not lose the other fields
            return InputError(unexpected(item, exc))


def clean_field(item: ImageLike, name: str) -> tuple[Ink, np.ndarray | None, float]:
    """(the field's ink without printed rules, the pixels removed (rules, and print outside a
    box the field is written in) or None, input pixels per working pixel): what both readers
    see. The field model's trainer calls it too."""
    gray, scale = load_gray(item, FIELD_MAX_SIDE, FIELD_MAX_PIXELS)
    ink = find_ink(gray, name)
    if rough_pieces(ink.mask) > ROUGH_PIECES:  # noise: find_atoms refuses it, rules cost time
        return ink, None, scale
    rules = find_rules(ink)
    if not rules.mask.any() and rules.box is None:
        return ink, None, scale
    cleaned = remove_rules(ink, rules)
    removed = rules.mask.copy()
    if rules.box is not None:  # read what is written inside the box: a printed "$" is outside
        x0, y0, x1, y1 = rules.box
        outside = np.ones(ink.mask.shape, dtype=bool)
        outside[y0:y1, x0:x1] = False
        removed |= outside & cleaned.mask
        cleaned = Ink(np.where(outside, np.float32(0), cleaned.strength),
                      cleaned.mask & ~outside, cleaned.dark_on_light)
    if not cleaned.mask.any():
        raise BlankImageError(f"{name}: only printed lines, nothing written")
    return cleaned, removed, scale


def _ctc_path(chars: tuple[str, ...], probabilities: np.ndarray, strip: Strip,
              mask: np.ndarray, line: Line) -> Path:
    """A lattice-shaped path of the field model's reading: each character's box from the frames
    it was written on (CTC alignment) and the ink in those columns, its probability the
    highest the model gave it there."""
    readings = []
    for char, (first, end) in zip(chars, align(probabilities, chars), strict=True):
        x0, x1 = strip.columns(first, end)
        x0, x1 = max(0, int(x0)), min(mask.shape[1], max(int(x0) + 1, math.ceil(x1)))
        rows = np.flatnonzero(mask[:, x0:x1].any(axis=1))
        y0, y1 = ((int(rows[0]), int(rows[-1]) + 1) if rows.size
                  else (int(line.top), int(line.base)))
        column = ALPHABET.index(char) + 1
        probability = float(probabilities[first:end, column].max())
        glyph = Glyph(-1, -1, (x0, y0, x1, y1), np.zeros((0, 0), bool))
        readings.append(Reading(glyph, char, probability))
    return Path(0.0, tuple(readings), chars)


def rough_pieces(mask: np.ndarray) -> int:
    """Ink pixels with no inked neighbour above or to the left (8-connected): about one per
    blob (a few for a concave one), counted in one vectorised pass."""
    above = np.zeros_like(mask)
    above[1:] = mask[:-1]
    above[1:, 1:] |= mask[:-1, :-1]
    above[1:, :-1] |= mask[:-1, 1:]
    above[:, 1:] |= mask[:, :-1]
    return int(np.count_nonzero(mask & ~above))


def _check_written(best: Path | None, name: str) -> None:
    """Refuse what was written, read freely, when it is too long or mostly no sure digits: blots
    and dust read one by one come out as points, "?" and unsure digits."""
    chars = best.chars if best else ()
    if len(chars) > MAX_FIELD_CHARS:
        raise FieldTooLongError(f"{name}: {len(chars)} characters: the longest field read is "
                                f"{MAX_FIELD_CHARS}")
    readings = [r for r in best.readings if r.char != SKIP] if best else []
    junk = sum(not r.char.isdigit() or r.probability < FIELD_CHAR_MIN_CONFIDENCE
               for r in readings)
    if junk >= MIN_JUNK and junk > JUNK_SHARE * len(readings):
        raise NotAFieldError(f"{name}: {junk} of {len(readings)} pieces of ink read as no sure "
                             f"digit: not a field ({''.join(chars)[:20]!r})")


def _annotate(path: str | os.PathLike, annotation: Annotation) -> None:
    try:
        write_annotation(annotation, path)
    except OSError as exc:
        raise AnnotateError(f"annotate {path}: cannot write the picture "
                            f"({exc.strerror or exc})") from None


def _unnamed(exc: Exception, name: str) -> str:
    """An input error's message without the input's name in front (the picture is of it)."""
    text = str(exc)
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


def unexpected(item: ImageLike, exc: Exception) -> str:
    """The message for a failure digit_edge did not foresee: name the input and the error."""
    return f"{describe(item)}: could not be read ({type(exc).__name__}: {exc})"


def _field_reading(path: Path, fmt: FieldFormat, scale: float, threshold: float,
                   confidence: float) -> FieldReading:
    """A FieldReading of one lattice path in `fmt`: characters below `threshold` show as "?"."""
    chars = []
    for reading in path.readings:
        if reading.char == SKIP:
            continue
        box = tuple(round(v * scale) for v in reading.glyph.box)
        kind = ("digit" if reading.char.isdigit() else
                "other" if reading.char == OTHER else "mark")
        chars.append(FieldChar(kind, reading.char, reading.probability, box))
    text = fmt.text(path.chars)
    if fmt.name == "amount":  # a separator's role is where it stands, whatever the pen made
        roles = iter(c for c in text if c in ".,")
        chars = [replace(c, value=next(roles)) if c.value in ".," else c for c in chars]
    digits = [FieldDigit(int(c.value) if c.confidence >= threshold else None, c.confidence, c.box)
              for c in chars if c.kind == "digit"]
    text = _mark_rejected(text, chars, threshold)
    return FieldReading(text, digits, confidence, chars,
                        fmt.value(path.chars) if fmt.accepts(path.chars) else None,
                        fmt.label)


def _mark_rejected(text: str, chars: list[FieldChar], threshold: float) -> str:
    """text with "?" for each character read below the threshold, or read as no digit or mark.
    Characters the format adds (ZIP+4's hyphen when none was written) are kept as they are."""
    shown, index = [], 0
    for text_char in text:
        if index < len(chars) and chars[index].value == text_char:
            char = chars[index]
            index += 1
            rejected = char.confidence < threshold or char.kind == "other"
            shown.append("?" if rejected else text_char)
        else:
            shown.append(text_char)
    return "".join(shown)
