"""What every saved result records about the software that made it (run.json, tables, manifest)."""

from __future__ import annotations

import platform

TRAINING_LIBRARIES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "optuna", "onnx",
                      "onnxruntime", "tf2onnx")


def library_versions(names: tuple[str, ...] = TRAINING_LIBRARIES) -> dict[str, str]:
    """Python's version and each installed library's; libraries not installed are left out."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions
