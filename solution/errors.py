"""The mistakes a user can make, as two exception bases the command line maps to exit codes.

Every module raises its own error class (a missing data file, a broken run folder, a study made
for other data) with a one-line message; subclassing one of these is all it takes for
`solution.cli.common.exits` to print that line and exit with the right code, never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a missing prerequisite the user can fix; one line, exit code 2."""


class Refused(UserError):
    """A quality gate said no (an export check failed) and nothing was written; exit code 1."""
