"""`submit`: train (or reuse) the fold models of the chosen configuration and write the submission.

Which configuration: an explicit `--config` file, else the tuned
`optuna_studies/<profile>/best.json` when tuning has written one, else the default recipe with
the profile's budget. Studies are named after their profile (`tune --profile quick` writes
optuna_studies/quick/), so `submit --profile P` picks up what `tune --profile P` found; a study
given another name with `tune --study NAME` is used with `--config optuna_studies/NAME/best.json`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from solution.config import Config
from solution.data.competition import Competition, subset
from solution.data.submission import make_submission, write_submission
from solution.profiles import Profile
from solution.reporting.member_count import member_tables
from solution.reporting.provenance import library_versions
from solution.runfolder import RunFolder, mark_latest
from solution.training.cv import CVResult, data_fingerprint, run_cv, run_id
from solution.training.fit import Log
from solution.training.precision import current_precision


@dataclass(frozen=True)
class ResolvedConfig:
    config: Config
    source: str  # "default", or the file it came from
    note: str = ""  # one line for the user about where the configuration came from


def resolve_config(profile: Profile, config_file: str | Path | None = None,
                   studies_dir: str | Path = "optuna_studies") -> ResolvedConfig:
    """The configuration `submit` trains; a tuned result needs no profile overrides on top.

    The tuned optuna_studies/<profile>/best.json is used only when it was tuned with this same
    profile and differs from the profile's default configuration in searched fields only
    (`solution.tuning.search_space.SEARCHED`, within the ranges of `suggest_config`, and `arch`
    when the study chose the architecture). So a tuned
    configuration never silently changes the budget: seeds per fold, TTA and the network's
    fixed shape stay the profile's; epochs stay within the profile's `tune_epochs` and width
    within half to one and a half times the profile's. Anything else (a best.json from another
    profile, or one from before the profile was edited) stops `submit` with one line saying so;
    an explicit `--config` file is taken as it is.
    """
    if config_file is not None:
        return ResolvedConfig(load_config_file(Path(config_file)), str(config_file),
                              f"configuration from {config_file}")
    tuned = Path(studies_dir) / profile.name / "best.json"
    if tuned.is_file():
        cfg = load_config_file(tuned)
        return ResolvedConfig(cfg, str(tuned), check_tuned(tuned, profile, cfg))
    return ResolvedConfig(profile.apply(Config()), "default",
                          f"default configuration of profile {profile.name} (no {tuned})")


def check_tuned(path: Path, profile: Profile, cfg: Config) -> str:
    """Refuse a tuned configuration made for another budget; returns a note on what it is."""
    from solution.tuning.search_space import SEARCHED

    info = json.loads(path.read_text())
    tuned_for = info.get("profile")
    if tuned_for != profile.name:
        raise ValueError(f"{path}: tuned with profile {tuned_for!r}, not {profile.name!r}; "
                         "pass --config to use it anyway, or delete it")
    default = profile.apply(Config()).to_dict()
    # `arch` is searched too when the study chose among architectures (`tune --archs`)
    changed = sorted(name for name, value in cfg.to_dict().items()
                     if name not in (*SEARCHED, "arch") and default[name] != value)
    low, high = profile.tune_epochs
    if changed or not low <= cfg.epochs <= high:
        what = ", ".join(changed) or f"epochs={cfg.epochs} outside {low}..{high}"
        raise ValueError(f"{path}: differs from profile {profile.name!r} beyond the tuned "
                         f"fields ({what}); retune, pass --config to use it anyway, or delete it")
    folds = info.get("folds") or []
    score = info.get("cv_accuracy")
    score_text = f"CV {score:.5f}" if isinstance(score, int | float) else "CV ?"
    return (f"tuned configuration from {path} (trial {info.get('trial')}, {score_text} "
            f"on {len(folds)} of 5 folds)")


def load_config_file(path: Path) -> Config:
    """A Config from JSON: either the fields themselves or a best.json holding them in 'config'."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with configuration fields")
    try:
        return Config.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def submit(comp: Competition, profile: Profile, resolved: ResolvedConfig, *, runs_dir: Path,
           submission_path: Path, base_seed: int = 0, log: Log | None = None,
           studies_dir: Path = Path("optuna_studies")) -> dict:
    """Train/reuse all folds, write the run folder and the submission; returns run.json's data."""
    started = time.perf_counter()
    comp = subset(comp, profile.max_train_rows)
    cfg = resolved.config
    run = RunFolder(Path(runs_dir) / run_id(cfg, comp))
    if log:
        if resolved.note:
            log(resolved.note)
        log(f"run folder {run.path} (config from {resolved.source}, profile {profile.name}, "
            f"{len(comp.train_labels)} training rows, {len(comp.test_images)} test rows)")
    result = run_cv(cfg, comp, run.path, base_seed=base_seed, log=log)
    assert result.test_probs is not None
    info = run_summary(cfg, comp, profile, resolved, result, base_seed,
                       time.perf_counter() - started, run, Path(submission_path))
    return finish_run(run, comp, result.oof_probs, result.test_probs, info,
                      Path(submission_path), Path(studies_dir))


def finish_run(run: RunFolder, comp: Competition, oof: np.ndarray, test: np.ndarray,
               info: dict, submission_path: Path, studies_dir: Path) -> dict:
    """What every finished run gets, one architecture or an ensemble: its predictions, the
    submission (in the run folder and where the user asked), run.json, the report, and LATEST
    naming it. run.json is written before the report, which reads it, and again with the
    report's figures."""
    from solution.reporting.run_report import save_mistakes, write_report

    run.save_predictions(oof, test, comp.train_labels)
    frame = make_submission(comp.test_ids, test)
    write_submission(frame, run.submission_csv, comp.sample_submission)
    write_submission(frame, submission_path, comp.sample_submission)
    run.write_info(info)
    save_mistakes(run, comp.train_images, comp.train_labels, oof)
    metrics = write_report(run, studies_dir)
    info["oof_report"] = {k: metrics[k] for k in ("rows", "accuracy", "confusion_matrix")}
    run.write_info(info)
    mark_latest(run)
    return info


def provenance(run: RunFolder, comp: Competition, profile: Profile, resolved: ResolvedConfig,
               cfg: Config, base_seed: int) -> dict:
    """The run.json keys that say how any run (single or ensemble) was made."""
    from solution.training.folds import FOLD_SEED, N_FOLDS

    return {
        "run_id": run.name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "profile": profile.name,
        "config_source": resolved.source,
        "config": cfg.to_dict(),
        "config_fingerprint": cfg.fingerprint(),
        "data": {"source": comp.source, "fingerprint": data_fingerprint(comp),
                 "train_rows": len(comp.train_labels),
                 "test_rows": len(comp.test_images)},
        "folds": {"n_folds": N_FOLDS, "fold_seed": FOLD_SEED},
        "base_seed": base_seed,
        "precision": current_precision(),
        "versions": library_versions(),
    }


def run_summary(cfg: Config, comp: Competition, profile: Profile, resolved: ResolvedConfig,
                result: CVResult, base_seed: int, seconds: float, run: RunFolder,
                submission_path: Path) -> dict:
    return {
        **provenance(run, comp, profile, resolved, cfg, base_seed),
        "seeds": sorted({m.seed for m in result.members}),
        "fold_accuracies": {str(k): v for k, v in result.fold_accuracies.items()},
        "cv_accuracy": result.accuracy(comp.train_labels),
        "members": [{"fold": m.fold, "seed": m.seed, "accuracy": m.accuracy,
                     "train_seconds": round(m.seconds, 1), "reused": m.reused,
                     "model": str(m.model_path.relative_to(run.path))} for m in result.members],
        **member_tables(run.path, comp.train_labels, cfg.seeds_per_fold),
        "timings": {"wall_seconds": round(seconds, 1),
                    "train_seconds": round(sum(m.seconds for m in result.members), 1),
                    "train_seconds_in_other_runs": round(borrowed_seconds(result), 1),
                    **({"work": result.clock.summary()} if result.clock else {})},
        "submission": str(submission_path),
    }


def borrowed_seconds(result: CVResult) -> float:
    """The part of `train_seconds` spent in the one-round run this run took first rounds from:
    a member's seconds are all of its training, wherever it ran, so `wall_seconds` can be far
    below `train_seconds` without anything having been run in parallel."""
    return sum(member.seconds_in_other_runs for member in result.members)
