"""digit_edge: read handwritten digits on a CPU with onnxruntime, nothing heavier.

    from digit_edge import DigitReader
    reader = DigitReader()
    reader.classify(batch).digits
    reader.read_field("zip.png", format="zip+4").text     # "12345-6789"; .confidence, .chars

Importing this package is cheap (numpy and Pillow): onnxruntime is imported when a reader is
built. Only relative imports are used, so the folder also works vendored next to a script.
"""

from __future__ import annotations

from .errors import (
    AnnotateError,
    ArrayError,
    BlankImageError,
    DigitEdgeError,
    FieldTooLongError,
    ImageSizeError,
    InputError,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    NotAFieldError,
    UnreadableImageError,
)
from .formats import FORMATS, FormatError
from .normalize import normalize
from .reader import Classification, DigitReader, FieldChar, FieldDigit, FieldReading

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "AnnotateError",
    "ArrayError",
    "BlankImageError",
    "Classification",
    "DigitEdgeError",
    "DigitReader",
    "FieldChar",
    "FieldDigit",
    "FieldReading",
    "FieldTooLongError",
    "FormatError",
    "ImageSizeError",
    "InputError",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "NotAFieldError",
    "UnreadableImageError",
    "normalize",
]
