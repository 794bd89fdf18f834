"""The `digit-edge` command: classify, read, bench. Other programs parse its output.

    digit-edge classify scans/ --json     {"path": str, "digit": int|null, "confidence": float,
                                           "kind": "digit"|"."|","|"-"|"$"|"other"}
    digit-edge read env.png --format zip+4 --json [--annotate env.annotated.png]
        {"path": str, "text": str, "confidence": float, "rejected": bool, "reason": str|null,
         "format": str|null, "value": str|null (an amount, as a decimal string),
         "chars": [{"kind": "digit"|"mark"|"other", "value": str, "confidence": float,
                    "box": [x0, y0, x1, y1]}],
         "digits": [{"digit": int|null, "confidence": float, "box": [x0, y0, x1, y1]}]}
    digit-edge bench DIR --labels labels.csv [--record]

One JSON object per input, one per line, flushed as it is ready. Exit status: 0 every input was
read; 1 some could not be (each named on stderr, the others still processed); 2 usage errors
(bad options, and a --model that is missing, tampered or not a digit model).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .errors import AnnotateError, DigitEdgeError, ModelError
from .formats import FORMATS, FormatError, parse_format
from .reader import READERS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm",
                  ".ppm", ".pbm", ".pnm"}
CHUNK = 256  # files normalised and classified together: bounded memory, streaming output


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args, parser)
    except BrokenPipeError:  # `digit-edge classify ... | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digit-edge",
                                     description="Read handwritten digits with onnxruntime.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--model", help="an .onnx file, manifest.json or folder, or the bundled "
                         "variant int8 / fp32 (default: bundled int8)")
        sub.add_argument("--threads", type=_positive_int, help="onnxruntime threads")
        sub.add_argument("--min-confidence", type=_probability, metavar="P",
                         help="reject digits below this confidence, 0..1 (default: the model's)")

    def readers(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--readers", choices=READERS, default="both",
                         help="fields: the field model and the segmenting reader together "
                         "(both, the default), or one alone, to compare")

    classify = commands.add_parser("classify", help="one digit per image")
    classify.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    common(classify)
    classify.set_defaults(run=_classify)

    read = commands.add_parser("read", help="a field of digits and marks per image")
    read.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    read.add_argument("--json", action="store_true", help="one JSON object per line")
    read.add_argument("--format", choices=FORMATS, default=None,
                      help="what the field must be (default: read what is written)")
    read.add_argument("--expected-digits", type=_positive_int, metavar="N",
                      help="a number of exactly N digits (account, routing numbers)")
    read.add_argument("--annotate", type=Path, metavar="PNG|DIR",
                      help="draw each reading (cleaned ink, removed rules, boxes, verdict) into "
                      "this PNG, or into DIR/<name>.annotated.png for several inputs")
    readers(read)
    common(read)
    read.set_defaults(run=_read)

    bench = commands.add_parser("bench", help="accuracy, error-reject trade-off and speed")
    bench.add_argument("directory", type=Path, metavar="DIR")
    bench.add_argument("--labels", type=Path, required=True, help="CSV of file,label")
    bench.add_argument("--repeats", type=_positive_int, default=5, help="timed repeats")
    bench.add_argument("--json", action="store_true", help="the report as one JSON object")
    bench.add_argument("--record", action="store_true",
                       help="fields: fit the field confidence's calibration and write it and the "
                       "threshold for 1%% field error into the model's manifest "
                       "(field_calibration, field_min_confidence)")
    readers(bench)
    common(bench)
    bench.set_defaults(run=_bench)
    return parser


def _classify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    reader = _reader(args, parser)
    paths, failed = _expand(args.paths)
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start:start + CHUNK]
        result = reader.classify(chunk)
        for index, path in enumerate(chunk):
            if index in result.errors:
                _error(result.errors[index])
                failed += 1
                continue
            digit = int(result.digits[index])
            confidence = round(float(result.confidences[index]), 6)
            if args.json:
                _emit(json.dumps({"path": str(path), "digit": None if digit < 0 else digit,
                                  "confidence": confidence,
                                  "kind": str(result.kinds[index])}))
            else:
                _emit(f"{path}\t{'?' if digit < 0 else digit}\t{confidence:.4f}")
    return 1 if failed else 0


def _read(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        parse_format(args.format, args.expected_digits)
    except FormatError as exc:
        parser.error(str(exc))
    reader = _reader(args, parser)
    paths, failed = _expand(args.paths)
    pictures = _annotate_targets(args.annotate, paths)
    for path, picture in zip(paths, pictures, strict=True):
        # one at a time: output streams as it is ready
        try:
            field = reader.try_read_field(path, args.format, expected_digits=args.expected_digits,
                                          annotate=picture)
        except AnnotateError as exc:
            _refuse(str(exc))
        if isinstance(field, DigitEdgeError):
            _error(str(field))
            failed += 1
            continue
        if args.json:
            _emit(json.dumps({"path": str(path), **field_json(field)}))
        else:
            rejected = f"\trejected: {field.reason}" if field.rejected else ""
            _emit(f"{path}\t{field.text}{rejected}")
    return 1 if failed else 0


def _annotate_targets(target: Path | None, paths: list[Path]) -> list[Path | None]:
    """Where each input's picture goes; a usage error (exit 2) before anything is read when the
    pictures cannot be written there."""
    if target is None:
        return [None] * len(paths)
    if target.is_dir():
        if not os.access(target, os.W_OK):
            _refuse(f"--annotate {target}: folder is not writable")
        return [target / f"{path.stem}.annotated.png" for path in paths]
    if len(paths) > 1:
        _refuse(f"--annotate {target}: several inputs need an existing folder")
    if target.suffix.lower() != ".png":
        _refuse(f"--annotate {target}: the picture is a PNG, name it .png")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        _refuse(f"--annotate {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        _refuse(f"--annotate {target}: not writable")
    return [target] * len(paths)


def _refuse(message: str) -> None:
    """A usage error in one line (argparse's parser.error adds the usage line), exit status 2."""
    _error(message)
    raise SystemExit(2)


def field_json(field) -> dict:
    """A FieldReading as the JSON object `digit-edge read --json` prints (without the path)."""
    return {
        "text": field.text, "confidence": round(field.confidence, 6),
        "rejected": field.rejected, "reason": field.reason, "format": field.format,
        "value": None if field.value is None else str(field.value),
        "chars": [{"kind": c.kind, "value": c.value, "confidence": round(c.confidence, 6),
                   "box": list(c.box)} for c in field.chars],
        "digits": [{"digit": d.digit, "confidence": round(d.confidence, 6), "box": list(d.box)}
                   for d in field.digits],
    }


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .bench import bench, format_report, record_field_threshold

    if not args.directory.is_dir():
        parser.error(f"{args.directory}: not a folder")
    reader = _reader(args, parser)
    if args.record:  # the calibration is fitted to the raw confidence
        reader.calibration = {}
    try:
        report = bench(reader, args.directory, args.labels, args.repeats)
        if args.record:
            report["recorded"] = record_field_threshold(reader, report)
    except DigitEdgeError as exc:
        parser.error(str(exc))
    report.pop("per_field", None)
    if args.json:
        _emit(json.dumps(report, default=lambda v: None if isinstance(v, float) and math.isnan(v)
                         else str(v)))
    else:
        _emit(format_report(report))
    return 0


def _reader(args: argparse.Namespace, parser: argparse.ArgumentParser):
    from .reader import DigitReader

    try:
        return DigitReader(args.model, args.threads, args.min_confidence,
                           getattr(args, "readers", "both"))
    except ModelError as exc:
        parser.error(str(exc))


def _expand(paths: list[Path]) -> tuple[list[Path], int]:
    """Files as given, folders as their image files (recursively, sorted); count the misses."""
    found: list[Path] = []
    failed = 0
    for path in paths:
        if path.is_dir():
            images = list(_images_in(path))
            if not images:
                _error(f"{path}: folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
                failed += 1
            found += images
        elif path.exists():
            found.append(path)
        else:
            _error(f"{path}: no such file or folder")
            failed += 1
    return found, failed


def _images_in(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and \
                not path.name.startswith("."):
            yield path


def _emit(line: str) -> None:
    print(line, flush=True)


def _error(message: str) -> None:
    print(f"digit-edge: {message}", file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number within 0..1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number within 0..1, got {text!r}")
    return value


def _version() -> str:
    from . import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
