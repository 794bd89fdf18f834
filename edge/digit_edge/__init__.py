"""digit_edge: read handwritten digits on a CPU with onnxruntime, nothing heavier.

    from digit_edge import DigitReader
    reader = DigitReader()
    reader.classify(batch).digits
    reader.read_field("zip.png").text

Importing this package is cheap: onnxruntime itself is imported only when a reader is built.
"""

from __future__ import annotations

__version__ = "0.1.0"
