"""Float precision of training: bfloat16 where the CPU has instructions for it, else float32.

Measured on this project's 2-core machines, the recipe CNN trains 1.27x faster in Keras'
`mixed_bfloat16` on a CPU with AMX (batch 128) and, on one with AVX512-BF16 but no AMX, 1.29x in a
short benchmark and 1.23x over a whole fold; on CPUs with neither, bfloat16 is emulated and
slower. So `auto` asks the CPU what it has, and
never assumes. Weights stay float32 under `mixed_bfloat16`, so every saved member can be rebuilt
as a float32 network for export (`float32_copy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import keras

Precision = Literal["float32", "bfloat16"]
PRECISIONS = ("auto", "float32", "bfloat16")
# /proc/cpuinfo flags that mean bfloat16 matrix arithmetic in hardware (oneDNN uses them).
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The instruction-set flags the CPU reports (Linux); empty where there is no cpuinfo."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def resolve_precision(requested: str, flags: frozenset[str] | None = None) -> Precision:
    """`auto` -> bfloat16 when the CPU reports a bfloat16 flag, else float32."""
    if requested not in PRECISIONS:
        raise ValueError(f"--precision {requested!r}: choose one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested  # type: ignore[return-value]
    flags = cpu_flags() if flags is None else flags
    return "bfloat16" if any(flag in flags for flag in BF16_CPU_FLAGS) else "float32"


def use_precision(precision: Precision) -> None:
    """Set Keras' global dtype policy: every model built afterwards trains in it."""
    import keras

    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")


def current_precision() -> Precision:
    """The precision models are built in now (Keras' global policy)."""
    import keras

    return "bfloat16" if keras.config.dtype_policy().compute_dtype == "bfloat16" else "float32"


@contextmanager
def precision_in_force(precision: str | None) -> Iterator[None]:
    """Models built inside use `precision` (None: whatever is in force); restored on exit."""
    before = current_precision()
    use_precision(resolve_precision(precision or before))
    try:
        yield
    finally:
        use_precision(before)


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network and weights computing in float32: what export converts and checks.

    A member trained in `mixed_bfloat16` keeps float32 weights, so the copy is exact.
    """
    from solution.models.layers import rebuilt_copy

    if all(layer.dtype_policy.compute_dtype == "float32" for layer in model.layers):
        return model

    def rebuild(layer: keras.layers.Layer) -> keras.layers.Layer:
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    return rebuilt_copy(model, rebuild)
