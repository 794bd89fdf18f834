"""Timing helpers: one warm-up, then the median of repeats (perf_counter), pinned threads."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from export.convert import INPUT, session


def median_seconds(call: Callable[[], object], repeats: int = 7, min_seconds: float = 0.0) -> float:
    """Median wall time of `call()` after one warm-up call; at least `repeats` calls and at
    least `min_seconds` of timing in all, so fast calls get enough samples."""
    call()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - started < min_seconds:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def one_graph_vs_sessions(ensemble: Path, members: Sequence[Path], images: np.ndarray,
                          threads: int = 1) -> dict[str, float]:
    """Batch throughput (images/s) of one ensemble session vs K member sessions + a mean."""
    one = session(ensemble, threads)
    many = [session(path, threads) for path in members]
    x = images.astype(np.float32, copy=False)

    def run_one():
        return one.run(None, {INPUT: x})[0]

    def run_many():
        return np.mean([s.run(None, {INPUT: x})[0] for s in many], axis=0)

    one_s = median_seconds(run_one, min_seconds=0.5)
    many_s = median_seconds(run_many, min_seconds=0.5)
    return {"batch": len(x), "threads": threads, "one_graph_images_per_s": len(x) / one_s,
            "k_sessions_images_per_s": len(x) / many_s, "k": len(members)}


def graphs_taking_turns(paths: Sequence[Path], images: np.ndarray, rounds: int = 5,
                        threads: int = 1) -> list[dict[str, float]]:
    """Per graph: median images/s on the whole batch and ms for one image, the graphs taking
    turns for `rounds` rounds, so that the CPU's drift falls on every one of them alike."""
    sessions = [session(path, threads) for path in paths]
    x = images.astype(np.float32, copy=False)
    batch: list[list[float]] = [[] for _ in paths]
    single: list[list[float]] = [[] for _ in paths]
    for _ in range(rounds):
        for k, sess in enumerate(sessions):
            batch[k].append(median_seconds(lambda s=sess: s.run(None, {INPUT: x}), repeats=3))
            single[k].append(median_seconds(lambda s=sess: s.run(None, {INPUT: x[:1]}),
                                            repeats=20))
    return [{"images_per_s": len(x) / float(np.median(b)), "single_ms": 1000 * float(np.median(s))}
            for b, s in zip(batch, single, strict=True)]
