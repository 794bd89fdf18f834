"""Exceptions of digit_edge: one type per failure, each with a message to show as it is.

The library raises; only the CLI prints and exits. Every message names the file or argument and
says what is wrong, so a user never needs a traceback.
"""

from __future__ import annotations


class DigitEdgeError(Exception):
    """Base of every error digit_edge raises on purpose."""


class ModelError(DigitEdgeError):
    """The model cannot be used: missing, tampered, or not following the model contract."""


class ModelNotFoundError(ModelError):
    """The model file or its manifest does not exist."""


class ModelIntegrityError(ModelError):
    """The model file's sha256 differs from its manifest: changed, truncated or corrupt."""


class InputError(DigitEdgeError):
    """One input (file, image or array) cannot be read; other inputs of a batch are unaffected."""


class UnreadableImageError(InputError):
    """Missing, empty, corrupt or non-image file."""


class ImageSizeError(InputError):
    """An image too small to hold a digit, or so large that decoding it would exhaust memory."""


class BlankImageError(InputError):
    """An image with no ink on it."""


class ArrayError(InputError):
    """An array of the wrong shape, dtype or value range."""


class NotAFieldError(InputError):
    """Ink that no field of the format can be: speckle, blobs, hatching, several lines, a page.

    Refused before the expensive part of reading, so one bad scan costs bounded time and memory.
    """


class FieldTooLongError(NotAFieldError):
    """A line of more characters than the reader's stated maximum (MAX_FIELD_CHARS)."""


class AnnotateError(DigitEdgeError):
    """The picture of a reading (annotate=) cannot be written: the caller's path, not the input."""
