"""`ExportRefused`: the one error every export step raises for a user; its own module so that the
steps (pipeline, requantize, the speed budget) can share it without importing each other."""

from __future__ import annotations

from solution.errors import Refused


class ExportRefused(Refused):
    """A check failed; nothing was published. The message is one line for the user."""
