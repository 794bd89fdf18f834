"""Move checked files into the edge models folder: all of them, or none.

Files are staged in a sibling folder (same file system, so every move is a rename), then renamed
into place one by one with the manifest last. A reader that opens the folder mid-way finds a
manifest whose sha256 does not match and refuses to load, never a silent mix of two exports.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path


def publish(files: Sequence[Path], out_dir: Path) -> list[Path]:
    """Copy `files` next to `out_dir`, then rename each into it; the last one goes in last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.staging-"))
    try:
        staged = []
        for path in files:
            target = staging / path.name
            shutil.copyfile(path, target)
            with open(target, "rb") as stream:
                os.fsync(stream.fileno())
            staged.append(target)
        placed = []
        for target in staged:
            os.replace(target, out_dir / target.name)
            placed.append(out_dir / target.name)
        return placed
    finally:
        shutil.rmtree(staging, ignore_errors=True)
