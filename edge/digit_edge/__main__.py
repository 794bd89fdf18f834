"""`python -m digit_edge ...` is `digit-edge ...`, for vendored copies with no console script."""

import sys

from .cli import main

sys.exit(main())
