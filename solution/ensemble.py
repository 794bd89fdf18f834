"""Heterogeneous ensembles: `submit --models cnn,m5` averages several architectures' fold models.

Each architecture is the resolved configuration with `arch` replaced and is trained (or reused)
by the ordinary single-architecture `submit`, in its own run folder. The ensemble gets a folder of
its own, `runs/ens-<archs>-<hash>/`, holding what a run folder holds apart from member files:
run.json (the architectures with their CV accuracies, and every member with a path relative to
the ensemble folder, `../<arch run>/members/fold{k}_seed{s}.keras`), oof_probs.npy,
test_probs.npy, train_labels.npy, submission.csv and the report. Probabilities are averaged with
one weight per architecture, so a model with more seeds per fold does not count more.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from solution.config import Config
from solution.data.competition import Competition, subset
from solution.profiles import Profile
from solution.runfolder import RunFolder
from solution.submit import ResolvedConfig, finish_run, provenance, submit
from solution.training.cv import run_id
from solution.training.fit import Log
from solution.training.folds import stratified_folds


def config_for(cfg: Config, arch: str) -> Config:
    """The resolved configuration with `arch` replaced; pruning widths stay with the CNN."""
    if arch == cfg.arch:
        return cfg
    return cfg.replace(arch=arch, channels=cfg.channels if arch == "cnn" else ())


def ensemble_id(run_ids: list[str], archs: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\n".join(sorted(run_ids)).encode()).hexdigest()[:10]
    return f"ens-{'_'.join(archs)}-{digest}"


def submit_models(comp: Competition, profile: Profile, resolved: ResolvedConfig,
                  archs: tuple[str, ...], *, runs_dir: Path, submission_path: Path,
                  base_seed: int = 0, log: Log | None = None,
                  studies_dir: Path = Path("optuna_studies")) -> dict:
    """Train/reuse every architecture's run, write the averaged submission; returns run.json.

    One architecture is an ordinary run of it, not an ensemble of one."""
    if len(archs) == 1:
        one = replace(resolved, config=config_for(resolved.config, archs[0]))
        return submit(comp, profile, one, runs_dir=runs_dir, submission_path=submission_path,
                      base_seed=base_seed, log=log, studies_dir=studies_dir)
    started = time.perf_counter()
    comp = subset(comp, profile.max_train_rows)
    runs: list[dict] = []
    for arch in archs:
        cfg = config_for(resolved.config, arch)
        if log:
            log(f"architecture {arch} ({len(runs) + 1}/{len(archs)})")
        note = f"{resolved.note}; arch {arch}".lstrip("; ")
        arch_run = RunFolder(Path(runs_dir) / run_id(cfg, comp))
        runs.append(submit(comp, profile, replace(resolved, config=cfg, note=note),
                           runs_dir=Path(runs_dir), submission_path=arch_run.submission_csv,
                           base_seed=base_seed, log=log, studies_dir=studies_dir))
    run = RunFolder(Path(runs_dir) / ensemble_id([info["run_id"] for info in runs], archs))
    arch_runs = [run.sibling(info["run_id"]) for info in runs]
    oof = np.mean([r.oof_probs() for r in arch_runs], axis=0).astype(np.float32)
    test = np.mean([r.test_probs() for r in arch_runs], axis=0).astype(np.float32)
    info = ensemble_summary(resolved, comp, profile, runs, oof, base_seed,
                            time.perf_counter() - started, run, Path(submission_path))
    info = finish_run(run, comp, oof, test, info, Path(submission_path), Path(studies_dir))
    if log:
        for entry in info["architectures"]:
            log(f"{entry['arch']}: CV {entry['cv_accuracy']:.5f} ({entry['run_id']})")
        log(f"ensemble of {len(archs)} architectures: CV {info['cv_accuracy']:.5f}")
    return info


def ensemble_summary(resolved: ResolvedConfig, comp: Competition, profile: Profile,
                     runs: list[dict], oof: np.ndarray, base_seed: int, seconds: float,
                     run: RunFolder, submission_path: Path) -> dict:
    """run.json of an ensemble: the run.json keys of a single run, plus `architectures`."""
    labels = comp.train_labels
    folds = {str(k): float(np.mean(oof[val].argmax(1) == labels[val]))
             for k, (_, val) in enumerate(stratified_folds(labels))}
    members = [{**member, "arch": info["config"]["arch"], "run_id": info["run_id"],
                "model": f"../{info['run_id']}/{member['model']}"}
               for info in runs for member in info["members"]]
    return {
        **provenance(run, comp, profile, resolved, resolved.config, base_seed),
        "architectures": [{"arch": info["config"]["arch"], "run_id": info["run_id"],
                           "config_fingerprint": info["config_fingerprint"],
                           "cv_accuracy": info["cv_accuracy"],
                           "fold_accuracies": info["fold_accuracies"],
                           "members": len(info["members"]),
                           "train_seconds": info["timings"]["train_seconds"]} for info in runs],
        "averaging": "mean of the architectures' probabilities, one weight per architecture",
        "seeds": sorted({seed for info in runs for seed in info["seeds"]}),
        "fold_accuracies": folds,
        "cv_accuracy": float(np.mean(oof.argmax(1) == labels)),
        "members": members,
        "timings": {"wall_seconds": round(seconds, 1),
                    "train_seconds": round(sum(info["timings"]["train_seconds"]
                                               for info in runs), 1)},
        "submission": str(submission_path),
    }
