"""The run's ETA: what is left to do, priced at the rates this run has measured so far.

A run does more than its training epochs: every epoch ends with a validation pass, the fold
teacher reads the 28,000 test images five times over per first round, every member predicts its
validation and test images, and every `fit` builds, compiles and traces a network before its first
step. Counting only epochs made the first epoch's ETA 20% low on a whole default run (issue 21's
seventh session: 1:39:42 said, 2:04:46 taken). So the clock plans all four kinds of work up front
and prices each at its own measured rate; what none of them covers (saves, loads, Python between
the steps) is charged in proportion, from the wall time the run has really taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

import numpy as np

RECENT = 10  # rates are the median of the last this many measurements: the CPU's pace drifts
SPREAD = (10.0, 90.0)  # the ETA's range: every rate seen so far at these percentiles
SPREAD_AFTER = 3  # epochs timed before a range is given


@dataclass
class Work:
    """An amount of a run's work, in the units the clock prices separately."""

    train_rows: int = 0  # image passes through a training step (forward, backward, update)
    read_rows: int = 0   # image passes through the network alone: validation, teacher, predictions
    fits: int = 0        # fit calls: each builds, compiles and traces its network once
    epochs: int = 0      # for the log's counts only; rows price an epoch

    def __add__(self, other: Work) -> Work:
        return Work(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Work) -> Work:
        """What is left: never below zero (a run may do more than it planned, e.g. a resume)."""
        return Work(*(max(0, getattr(self, f.name) - getattr(other, f.name))
                      for f in fields(self)))


@dataclass
class RunClock:
    """Shared by everything a run trains and reads, so every epoch line can give the ETA of the
    whole run, honest from the first epoch: by then it has timed a training step, a validation
    pass (the rate of every later reading) and one fit's start-up."""

    planned: Work
    done: Work = field(default_factory=Work)
    train_rates: list[float] = field(default_factory=list)  # seconds per training row
    read_rates: list[float] = field(default_factory=list)   # seconds per read row
    fit_overheads: list[float] = field(default_factory=list)  # seconds per fit's start-up
    accounted: float = 0.0  # seconds of the work above, as measured
    started: float = field(default_factory=time.perf_counter)
    first_eta: tuple[float, float] | None = None  # (when, ETA) at the first epoch's end

    def epoch(self, train_seconds: float, train_rows: int, read_seconds: float = 0.0,
              read_rows: int = 0, start_up: float | None = None) -> None:
        """One epoch: `train_rows` trained in `train_seconds` (its steady pace), `read_rows`
        validated in `read_seconds`; `start_up`: on a fit's first epoch, the seconds it spent
        before and beyond that pace (building, compiling, tracing)."""
        self.done += Work(train_rows=train_rows, read_rows=read_rows, epochs=1,
                          fits=int(start_up is not None))
        self.train_rates.append(train_seconds / max(1, train_rows))
        if read_rows:
            self.read_rates.append(read_seconds / read_rows)
        if start_up is not None:
            self.fit_overheads.append(max(0.0, start_up))
        self.accounted += train_seconds + read_seconds + max(0.0, start_up or 0.0)
        if self.first_eta is None:
            now = time.perf_counter()
            self.first_eta = now, self.eta_seconds(now)

    def read(self, seconds: float, rows: int) -> None:
        """A prediction outside training: `rows` image passes (views included) in `seconds`."""
        self.done += Work(read_rows=rows)
        self.read_rates.append(seconds / max(1, rows))
        self.accounted += seconds

    def eta_seconds(self, now: float | None = None, quantile: float | None = None) -> float:
        """Seconds left: the work left at the recent rates (`quantile`: at that percentile of
        every rate seen, for a range), times the share of the wall time so far that the
        measured work explains (>= 1); nan before anything was timed."""
        if not self.train_rates:
            return float("nan")
        left = self.planned - self.done
        seconds = (left.train_rows * _rate(self.train_rates, quantile)
                   + left.read_rows * _rate(self.read_rates, quantile)
                   + left.fits * _rate(self.fit_overheads, quantile))
        elapsed = (time.perf_counter() if now is None else now) - self.started
        return seconds * max(1.0, elapsed / self.accounted) if self.accounted > 0 else seconds

    def eta_text(self, now: float | None = None) -> str:
        """The ETA for a log line; once a few epochs were timed, with the range their spread of
        pace gives (these CPUs' pace drifts by up to 1.3x within minutes)."""
        now = time.perf_counter() if now is None else now
        text = clock_text(self.eta_seconds(now))
        if len(self.train_rates) >= SPREAD_AFTER:
            text += (f" ({clock_text(self.eta_seconds(now, SPREAD[0]))}"
                     f"-{clock_text(self.eta_seconds(now, SPREAD[1]))})")
        return text

    def summary(self, now: float | None = None) -> dict[str, float | int]:
        """For run.json: what the run did, at what rates, and how the first epoch's ETA
        compared with the time the run then took (`first_eta_ratio` > 1: it took longer)."""
        now = time.perf_counter() if now is None else now
        info: dict[str, float | int] = {
            "train_rows": self.done.train_rows, "read_rows": self.done.read_rows,
            "fits": self.done.fits,
            "seconds_per_1000_train_rows": round(1000 * _median(self.train_rates), 3),
            "seconds_per_1000_read_rows": round(1000 * _median(self.read_rates), 3),
            "fit_start_up_seconds": round(_median(self.fit_overheads), 2),
            "unmeasured_share": round(1 - self.accounted / max(1e-9, now - self.started), 4)}
        if self.first_eta is not None and self.first_eta[1] > 0:
            at, eta = self.first_eta
            info.update(first_eta_seconds=round(eta, 1), after_first_epoch_seconds=round(
                now - at, 1), first_eta_ratio=round((now - at) / eta, 3))
        return info


def _rate(rates: list[float], quantile: float | None = None) -> float:
    """The median of the last RECENT rates, or (`quantile`) that percentile of all; 0 for none."""
    if not rates:
        return 0.0
    if quantile is None:
        return float(np.median(rates[-RECENT:]))
    return float(np.percentile(rates, quantile))


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else 0.0


def steady_seconds(spent: float, after_first_step: float, steps: int) -> float:
    """A pass's time as the later passes will take it: its first step (where TensorFlow traces
    the graph, seconds on a 2-core CPU) counted at the pace of the others; the clock charges the
    difference to the fit's start-up instead."""
    if steps < 2 or not 0 < after_first_step <= spent:
        return spent
    return after_first_step * steps / (steps - 1)


def clock_text(seconds: float) -> str:
    """h:mm:ss, or ? before the clock can tell."""
    if not np.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
