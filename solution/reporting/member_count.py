"""What each extra member per fold bought: the OOF accuracy of the first k seeds of every fold;
and what the members' clean epochs bought: the run's OOF from the readings stored before them.

A run with several seeds per fold holds the answer to "is one more member worth its CPU
minutes?" without training anything again: every member kept its own validation probabilities.
The first k seeds (never the best k) are averaged, so each row is the run a profile with
`seeds_per_fold=k` would have made, and the edge export, which publishes the first seeds of each
fold, is one of these rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solution.runfolder import RunFolder
from solution.training.folds import N_FOLDS


@dataclass(frozen=True)
class StoredMember:
    fold: int
    seed_index: int
    val_index: np.ndarray  # (V,) rows of the run's training set
    val_probs: np.ndarray  # (V, 10)
    seconds: float  # its training time, as its .json recorded it when it was trained
    before_clean: np.ndarray | None = None  # (V, 10) its reading before its clean epochs


@dataclass(frozen=True)
class MemberCountRow:
    members_per_fold: int
    accuracy: float  # OOF over the rows the run's folds cover
    errors: int
    train_seconds: float  # of the members averaged in this row

    def to_dict(self) -> dict:
        return {"members_per_fold": self.members_per_fold, "accuracy": self.accuracy,
                "errors": self.errors, "train_seconds": round(self.train_seconds, 1)}


def member_count_rows(members: list[StoredMember], labels: np.ndarray) -> list[MemberCountRow]:
    """One row per k = 1 .. the fewest seeds any fold has: its first k seeds averaged."""
    by_fold = _by_fold(members)
    if not by_fold:
        return []
    rows = []
    for k in range(1, min(len(seeds) for seeds in by_fold.values()) + 1):
        predicted, truth, seconds = [], [], 0.0
        for seeds in by_fold.values():
            chosen = seeds[:k]
            predicted.append(np.mean([m.val_probs for m in chosen], axis=0).argmax(1))
            truth.append(labels[chosen[0].val_index])
            seconds += sum(m.seconds for m in chosen)
        right = np.concatenate(predicted) == np.concatenate(truth)
        rows.append(MemberCountRow(k, float(right.mean()), int((~right).sum()), seconds))
    return rows


def _by_fold(members: list[StoredMember]) -> dict[int, list[StoredMember]]:
    """Each fold's members in seed order."""
    by_fold: dict[int, list[StoredMember]] = {}
    for member in sorted(members, key=lambda m: (m.fold, m.seed_index)):
        by_fold.setdefault(member.fold, []).append(member)
    return by_fold


def stored_members(run: RunFolder, seeds_per_fold: int) -> list[StoredMember]:
    """The run's finished members in its own members/ folder (an ensemble of architectures keeps
    its members elsewhere and has none here); a folder shared with a run of more seeds per fold
    holds more, which are left out."""
    members = []
    for fold in range(N_FOLDS):
        for seed_index in range(seeds_per_fold):
            files = run.member(fold, seed_index)
            if not (files.info.is_file() and files.probs.is_file()):
                continue
            stored = np.load(files.probs)
            seconds = float(json.loads(files.info.read_text()).get("seconds", 0))
            before = (stored["val_probs_before_clean"]
                      if "val_probs_before_clean" in stored.files else None)
            members.append(StoredMember(fold, seed_index, stored["val_index"],
                                        stored["val_probs"], seconds, before))
    return members


def before_clean_oof(members: list[StoredMember], labels: np.ndarray) -> dict | None:
    """The run's OOF (all its members averaged per fold) had every member stopped before its
    clean epochs; None unless every member stored that reading."""
    if not members or any(m.before_clean is None for m in members):
        return None
    right = np.concatenate([
        np.mean([m.before_clean for m in seeds], axis=0).argmax(1) == labels[seeds[0].val_index]
        for seeds in _by_fold(members).values()])
    return {"accuracy": float(right.mean()), "errors": int((~right).sum())}


def member_tables(run_dir: Path, labels: np.ndarray, seeds_per_fold: int) -> dict:
    """run.json's `members_per_fold` rows (empty for a run of one seed per fold) and
    `before_clean_epochs` (None for a run without clean epochs)."""
    members = stored_members(RunFolder(Path(run_dir)), seeds_per_fold)
    rows = member_count_rows(members, labels)
    return {"members_per_fold": [row.to_dict() for row in rows] if len(rows) > 1 else [],
            "before_clean_epochs": before_clean_oof(members, labels)}
