"""`solution bench widths`: int8 time of one member per conv width set, on one thread.

MACs were the export's proxy for speed, and onnxruntime's int8 convolutions do not follow it: a
first stage of 20 filters ran nearly as slow as 24, so the uniform 30% cut bought a few percent.
This times what the pruning rungs would publish, beside the cuts a user may weigh, with the same
conversion and quantization as `make export` (untrained weights: int8 kernels take as long
whatever the values), each width set taking turns so that the CPU's drift falls on all alike.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.convert import (
    INPUT,
    keep_outputs,
    keras_to_onnx,
    optimize_offline,
    session,
    to_input,
)
from export.members import rung_plans
from export.quantize import quantize
from export.settings import ExportSettings
from export.timing import median_seconds
from solution.config import Config
from solution.models.cnn import count_macs
from solution.models.zoo import create_model
from solution.reporting.tables import Column, Table

BATCH = 256


@dataclass(frozen=True)
class WidthTiming:
    label: str
    widths: tuple[int, ...]
    macs: int
    batch_us: float  # per image, batch of BATCH
    single_us: float  # one image


def candidate_widths(cfg: Config, settings: ExportSettings,
                     extra: Sequence[tuple[int, ...]] = ()) -> list[tuple[str, tuple[int, ...]]]:
    """The network as trained, the rungs the export would try on it, then `extra` width sets
    (e.g. older cuts)."""
    return [("as trained", cfg.layer_widths()),
            *[(f"rung, -{plan.mac_reduction:.1%} MACs", plan.widths)
              for plan in rung_plans(cfg, settings, None)],
            *[("given", tuple(widths)) for widths in extra]]


def time_widths(cfg: Config, candidates: Sequence[tuple[str, tuple[int, ...]]],
                rounds: int = 5, seed: int = 0) -> list[WidthTiming]:
    """Median int8 time per image of one member at each width set, `rounds` turns each."""
    rng = np.random.default_rng(seed)
    images = (rng.random((BATCH, 28, 28)) * 255).astype(np.uint8)
    x = to_input(images)
    with tempfile.TemporaryDirectory(prefix="digits-widths-") as tmp:
        work = Path(tmp)
        sessions, macs = [], []
        for k, (_, widths) in enumerate(candidates):
            model = create_model(cfg.replace(channels=tuple(widths)))
            macs.append(count_macs(model))
            raw = keras_to_onnx([model], work / f"raw{k}.onnx")
            graph = keep_outputs(raw, work / f"graph{k}.onnx")
            fp32 = optimize_offline(graph, work / f"fp32_{k}.onnx")
            int8 = quantize(fp32, work / f"int8_{k}.onnx", x[:64])
            sessions.append(session(int8, threads=1))
        batch: list[list[float]] = [[] for _ in candidates]
        single: list[list[float]] = [[] for _ in candidates]
        for _ in range(rounds):
            for k, sess in enumerate(sessions):
                batch[k].append(median_seconds(lambda s=sess: s.run(None, {INPUT: x}),
                                               repeats=3) / BATCH)
                single[k].append(median_seconds(lambda s=sess: s.run(None, {INPUT: x[:1]}),
                                                repeats=50))
    return [WidthTiming(label, tuple(widths), macs[k], 1e6 * float(np.median(batch[k])),
                        1e6 * float(np.median(single[k])))
            for k, (label, widths) in enumerate(candidates)]


def timing_table(timings: Sequence[WidthTiming]) -> Table:
    base = timings[0]
    columns = [Column("widths"), Column("what"), Column("MACs", "right"),
               Column(f"us per image, batch {BATCH}", "right"),
               Column("us, one image", "right"), Column("batch speed vs as trained", "right")]
    return Table(columns, [("/".join(map(str, t.widths)), t.label, f"{t.macs / 1e6:.2f}M",
                            f"{t.batch_us:.1f}", f"{t.single_us:.1f}",
                            f"{base.batch_us / t.batch_us:.2f}x") for t in timings])
