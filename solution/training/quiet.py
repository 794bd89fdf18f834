"""Keep TensorFlow's start-up noise off a newcomer's terminal, and its real errors on it.

TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA stubs, the CPU feature guard, a failed
cuInit on a machine without a GPU) through absl before its logging is initialised, so
TF_CPP_MIN_LOG_LEVEL does not silence them. They are written to file descriptor 2 while
TensorFlow is imported and probes for devices: that window is caught in a temporary file and
replayed without the lines known to be noise. Anything else (a real error, a fatal line) is
written back as it came. A user who sets TF_CPP_MIN_LOG_LEVEL chooses for themselves: nothing is
filtered then.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} "                                   # absl INFO and WARNING lines
    r"|E\d{4} .*(cuInit|cuda_dnn|cuda_blas|cuda_fft|Unable to register)"  # no GPU, no driver
    r"|To enable the following instructions:)")      # the feature guard's second line
USER_CHOICE = "TF_CPP_MIN_LOG_LEVEL"


def is_noise(line: str) -> bool:
    return bool(NOISE.match(line))


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Within the block, what native code writes to fd 2 is held back, then replayed without
    the noise. Does nothing when the user set TF_CPP_MIN_LOG_LEVEL or fd 2 cannot be swapped."""
    if USER_CHOICE in os.environ:
        yield
        return
    os.environ[USER_CHOICE] = "2"  # what TensorFlow logs once its logging is up: errors only
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(True)
                    if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
