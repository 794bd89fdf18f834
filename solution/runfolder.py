"""The run folder: the one interface between submit, tune, report, export and the benchmarks.

Only this module knows the layout; everything else asks it for a path or a typed value.

    runs/LATEST                          name of the newest finished run
    runs/<run_id>/config.json            the Config being trained (written first)
    runs/<run_id>/members/fold{k}_seed{s}.keras|.npz|.json   one member: network, val/test
                                         probabilities, accuracy and history (.json written last)
    runs/<run_id>/members/first_round/, rounds_done/   a two-round member's networks after round
                                         one and (until its clean epochs end) after round two
    runs/<run_id>/oof_probs.npy, test_probs.npy, train_labels.npy
    runs/<run_id>/submission.csv
    runs/<run_id>/run.json               how the run was made and what it scored
    runs/<run_id>/metrics.json, classification_report.txt, *.png, oof_mistakes.npz, report.html
    runs/<run_id>/export/                export.md/.json, bench.md/.json, members/ (exported Keras)

A run is finished once run.json exists; tuning trials leave folders with members only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solution.atomic import atomic_path, write_json, write_text
from solution.errors import UserError

LATEST = "LATEST"


class RunError(UserError):
    """The run folder is missing, unfinished or does not match its data; one line for the user."""


@dataclass(frozen=True)
class MemberFiles:
    """The three files of one trained member; `info` is written last and marks it finished."""

    model: Path
    probs: Path
    info: Path
    first_round: Path  # a two-round member's first-round network, kept so round two can resume
    rounds_done: Path  # its network after round two, kept until its clean epochs finish


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @classmethod
    def chosen(cls, run: str | Path | None, runs_dir: str | Path = "runs") -> RunFolder:
        """`--run` as given (a run folder, or a LATEST file), else the newest finished run."""
        if run is None:
            return latest(Path(runs_dir))
        path = Path(run)
        if path.name == LATEST and path.is_file():
            return cls(path.parent / path.read_text().strip())
        return cls(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def runs_dir(self) -> Path:
        return self.path.parent

    def sibling(self, run_id: str) -> RunFolder:
        """Another run in the same runs folder (an ensemble's architecture runs)."""
        return RunFolder(self.runs_dir / run_id)

    # --- paths --------------------------------------------------------------------------------
    config_json = property(lambda self: self.path / "config.json")
    run_json = property(lambda self: self.path / "run.json")
    oof_probs_npy = property(lambda self: self.path / "oof_probs.npy")
    test_probs_npy = property(lambda self: self.path / "test_probs.npy")
    train_labels_npy = property(lambda self: self.path / "train_labels.npy")
    submission_csv = property(lambda self: self.path / "submission.csv")
    members_dir = property(lambda self: self.path / "members")
    metrics_json = property(lambda self: self.path / "metrics.json")
    classification_txt = property(lambda self: self.path / "classification_report.txt")
    curves_png = property(lambda self: self.path / "curves.png")
    confusion_png = property(lambda self: self.path / "confusion_matrix.png")
    mistakes_png = property(lambda self: self.path / "mistakes.png")
    mistakes_npz = property(lambda self: self.path / "oof_mistakes.npz")
    report_html = property(lambda self: self.path / "report.html")
    export_dir = property(lambda self: self.path / "export")
    exported_members_dir = property(lambda self: self.export_dir / "members")

    def member(self, fold: int, seed_index: int) -> MemberFiles:
        name = f"fold{fold}_seed{seed_index}"
        stem = self.members_dir / name
        return MemberFiles(stem.with_suffix(".keras"), stem.with_suffix(".npz"),
                           stem.with_suffix(".json"),
                           self.members_dir / "first_round" / f"{name}.keras",
                           self.members_dir / "rounds_done" / f"{name}.keras")

    def member_infos(self) -> list[Path]:
        """The finished members' .json files found in members/, in name order."""
        return sorted(self.members_dir.glob("*.json"))

    # --- typed reads and writes ---------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        """run.json; a missing or malformed one is a one-line RunError."""
        return read_json_object(self.run_json,
                                missing=f"is {self.path} a finished run folder?")

    def write_info(self, info: dict[str, Any]) -> None:
        write_json(self.run_json, info)

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.config_json, config)

    def save_predictions(self, oof: np.ndarray, test: np.ndarray, labels: np.ndarray) -> None:
        for path, array in ((self.oof_probs_npy, oof), (self.test_probs_npy, test),
                            (self.train_labels_npy, labels)):
            with atomic_path(path) as tmp:
                np.save(tmp, array)

    def oof_probs(self) -> np.ndarray:
        return self._load(self.oof_probs_npy)

    def test_probs(self) -> np.ndarray:
        return self._load(self.test_probs_npy)

    def train_labels(self) -> np.ndarray:
        return self._load(self.train_labels_npy)

    def _load(self, path: Path) -> np.ndarray:
        if not path.is_file():
            raise RunError(f"{path}: not found; is {self.path} a finished run folder?")
        return np.load(path)


def latest(runs_dir: Path) -> RunFolder:
    """The newest finished run, from runs/LATEST."""
    pointer = Path(runs_dir) / LATEST
    if not pointer.is_file():
        raise RunError(f"{pointer}: no finished run yet; run `make submit` first")
    return RunFolder(Path(runs_dir) / pointer.read_text().strip())


def mark_latest(run: RunFolder) -> None:
    write_text(run.runs_dir / LATEST, run.name + "\n")


def read_json_object(path: Path, missing: str = "") -> dict[str, Any]:
    """A JSON object from `path`; anything else is a one-line RunError naming the file."""
    if not path.is_file():
        raise RunError(f"{path}: not found" + (f"; {missing}" if missing else ""))
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object")
    return data
