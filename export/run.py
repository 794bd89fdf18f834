"""Read a finished run folder back: its configuration, its fold members and the rows they saw.

A run is one architecture's fold models or an ensemble of several architectures' runs
(`submit --models`); either way it comes back as members, each with its own configuration and
its weight in the average the run predicts with.

Export needs the training rows of the run (fine-tuning pruned members on each fold's own
training rows, calibrating on training images, judging int8 on each member's own validation
fold). The run stores where its data came from and a fingerprint of it, so the same rows are
rebuilt here and checked against that fingerprint: a different or edited file is refused with
one line, because every out-of-fold figure would silently be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from solution.config import Config
from solution.data.competition import Competition, load_competition, subset
from solution.profiles import PROFILES
from solution.runfolder import RunError, RunFolder, read_json_object
from solution.training.cv import data_fingerprint


@dataclass(frozen=True)
class Member:
    """One trained fold model, how it was built, its weight, and the rows it was validated on."""

    fold: int
    seed: int
    model_path: Path
    val_index: np.ndarray  # (V,) int64 rows of the run's training set
    config: Config
    weight: float = 1.0  # share in the run's average: 1 / members, or per architecture
    prefix: str = ""  # "<arch>_" in an ensemble, where fold names repeat across architectures

    @property
    def name(self) -> str:
        return self.prefix + self.model_path.stem  # [arch_]fold{k}_seed{s}

    def train_index(self, rows: int) -> np.ndarray:
        """Every other row: what this member was trained on."""
        mask = np.ones(rows, bool)
        mask[self.val_index] = False
        return np.flatnonzero(mask)


@dataclass(frozen=True)
class Run:
    """A finished run: configuration, members, and the training rows it used."""

    path: Path
    run_id: str
    profile: str
    config: Config  # the resolved configuration (an ensemble's members replace `arch`)
    cv_accuracy: float
    members: tuple[Member, ...]
    images: np.ndarray  # (N, 28, 28) uint8 training images of the run
    labels: np.ndarray  # (N,) int64
    data_source: str


def load_run(run_dir: str | Path, data: str | Path | None = None) -> Run:
    """Load run.json, the members, and rebuild (and verify) the run's training rows.

    `data` overrides the data path recorded in run.json (a moved or re-downloaded zip).
    """
    folder = RunFolder(Path(run_dir))
    run_dir = folder.path
    info = folder.read_info()
    try:
        cfg = Config.from_dict(info["config"])
        source = str(data) if data is not None else info["data"]["source"]
        expected = info["data"]["fingerprint"]
        profile = info.get("profile", "default")
        members_info = info["members"]
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{folder.run_json}: malformed ({exc})") from None
    configs = _member_configs(folder, info, cfg)
    comp = _training_rows(source, profile, expected, run_dir)
    members = tuple(_member(folder, entry, configs) for entry in members_info)
    if not members:
        raise RunError(f"{folder.run_json}: lists no members")
    members = _weighted(members)
    for member in members:
        if member.val_index.size == 0 or member.val_index.max() >= len(comp.train_labels):
            raise RunError(f"{member.model_path.with_suffix('.npz')}: validation rows do not fit "
                           f"the {len(comp.train_labels)} training rows")
    return Run(run_dir, info.get("run_id", run_dir.name), profile, cfg,
               float(info.get("cv_accuracy", float("nan"))), members, comp.train_images,
               comp.train_labels, source)


def _training_rows(source: str, profile: str, expected: str, run_dir: Path) -> Competition:
    from solution.data.competition import DataError

    try:
        comp = load_competition(source)
    except DataError as exc:
        raise RunError(f"{exc} (data of run {run_dir.name}; pass --data to point elsewhere)") \
            from None
    max_rows = PROFILES[profile].max_train_rows if profile in PROFILES else None
    comp = subset(comp, max_rows)
    if data_fingerprint(comp) != expected:
        raise RunError(f"{source}: not the data run {run_dir.name} was trained on (fingerprint "
                       f"{data_fingerprint(comp)}, run.json says {expected}); "
                       "pass the right --data")
    return comp


def _member_configs(run: RunFolder, info: dict, cfg: Config) -> dict[str, Config]:
    """Run id -> configuration of its members: the run's own, or each architecture run's."""
    if not info.get("architectures"):
        return {"": cfg}
    configs = {}
    for entry in info["architectures"]:
        arch_json = run.sibling(str(entry.get("run_id"))).run_json
        try:
            configs[entry["run_id"]] = Config.from_dict(read_json_object(arch_json)["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"{arch_json}: malformed ({exc})") from None
    return configs


def _member(folder: RunFolder, entry: dict, configs: dict[str, Config]) -> Member:
    run_dir = folder.path
    try:
        fold, seed = int(entry["fold"]), int(entry["seed"])
        model_path = run_dir / entry["model"]
        config = configs[entry.get("run_id", "")]
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{folder.run_json}: malformed member entry ({exc})") from None
    probs_path = model_path.with_suffix(".npz")
    for path in (model_path, probs_path):
        if not path.is_file():
            raise RunError(f"{path}: missing member file of run {run_dir.name}")
    try:
        val_index = np.load(probs_path)["val_index"].astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"{probs_path}: unreadable ({exc})") from None
    prefix = f"{config.arch}_" if len(configs) > 1 else ""
    return Member(fold, seed, model_path, val_index, config, prefix=prefix)


def edge_members(run: Run, per_fold: int | None) -> Run:
    """The run with only the first `per_fold` seeds of each fold (of each architecture), weighted
    again: the edge package's speed is its member count, so a run that trains more members per
    fold for the submission can still publish an edge ensemble as fast as before. None keeps all.
    The seeds kept are the first ones, never the best on their fold, so the exported members'
    OOF accuracy stays an honest estimate."""
    if per_fold is None:
        return run
    by_fold: dict[tuple[str, int], list[Member]] = {}
    for member in sorted(run.members, key=lambda m: (m.prefix, m.fold, m.seed)):
        by_fold.setdefault((member.prefix, member.fold), []).append(member)
    kept = tuple(m for members in by_fold.values() for m in members[:per_fold])
    return replace(run, members=_weighted(kept))


def _weighted(members: tuple[Member, ...]) -> tuple[Member, ...]:
    """Weights as `submit` averages: one share per architecture, split among its members."""
    archs = [m.config.arch for m in members]
    return tuple(replace(m, weight=1.0 / (len(set(archs)) * archs.count(m.config.arch)))
                 for m in members)
