"""Training options and ensembles, measured on the baselines' rows and folds (`make options`).

The issue asks to keep an option only if it raises OOF accuracy, so each option is the profile's
CNN with one thing changed, trained through the same `run_cv` in its own run folder, and judged
on the same validation rows against the configuration it changed: the profile's previous one
where the profile records it (`Profile.previous`: what the options were chosen against), whose own
row then shows what the profile's current configuration gained over it. Test-time augmentation
changes nothing in training, so it re-predicts the reference run's own members. Ensembles average
finished runs as `submit --models` does (one weight per architecture), and the table shows each
one's training seconds, so homogeneous and heterogeneous ensembles can be compared at equal
training compute.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from solution.atomic import write_json, write_text
from solution.baselines.table import Row, measure_network, scores, time_predict
from solution.config import ARCHS, Config
from solution.data.competition import NUM_CLASSES, Competition
from solution.profiles import Profile
from solution.reporting.tables import Column, Table, titled
from solution.training.cv import one_round_config
from solution.training.fit import Log
from solution.training.folds import stratified_folds
from solution.training.precision import precision_in_force


@dataclass(frozen=True)
class Option:
    name: str
    change: Callable[[Config], Config]  # applied to the previous (or current) configuration
    tta: bool = False  # predict-time only: re-predict the reference members with TTA
    precision: str | None = None  # train in this precision instead of the command's
    against_current: bool = False  # change the profile's current configuration, not its previous


def _one_round(cfg: Config) -> Config:
    """One member per fold, its first round alone, without TTA."""
    return one_round_config(cfg).replace(seeds_per_fold=1)


def _two_members(cfg: Config) -> Config:
    return _one_round(cfg).replace(seeds_per_fold=2)


DEFAULT = "default"
PREVIOUS = "previous default"
OPTIONS = (
    Option(DEFAULT, lambda cfg: cfg),  # replaced by the profile's configuration itself
    Option(PREVIOUS, lambda cfg: cfg),
    Option("label smoothing 0.1", lambda cfg: cfg.replace(label_smoothing=0.1)),
    Option("EMA of weights 0.99", lambda cfg: cfg.replace(ema_momentum=0.99)),
    Option("EMA of weights 0.999", lambda cfg: cfg.replace(ema_momentum=0.999)),
    Option("2x epochs", lambda cfg: cfg.replace(epochs=2 * cfg.epochs)),
    Option("TTA (5 one-pixel views)", lambda cfg: cfg, tta=True),
    Option("cosine after a 1-epoch warm-up to lr 2e-3",
           lambda cfg: cfg.replace(schedule="cosine", warmup=1.0, learning_rate=2e-3)),
    Option("elastic distortion 2 px", lambda cfg: cfg.replace(elastic=2.0)),
    Option("bfloat16 training", lambda cfg: cfg, precision="bfloat16"),
    Option("3/4 width (-43% MACs)", lambda cfg: cfg.replace(width=cfg.width * 3 // 4)),
    Option("pseudo-labels: 2nd round of 1/3 the epochs",
           lambda cfg: cfg.replace(second_round="pseudo", second_round_epochs=cfg.epochs // 3)),
    Option("distillation: 2nd round of 1/3 the epochs",
           lambda cfg: cfg.replace(second_round="distil", second_round_epochs=cfg.epochs // 3)),
    # issue 21: the second round's and TTA's compute spent on a second member per fold instead;
    # changes to the profile's current configuration. Seeds stay out of the run folder's
    # fingerprint, so the second row reuses the first row's members and trains one more each.
    Option("one round without TTA", _one_round, against_current=True),
    Option("one round without TTA; 2 members per fold", _two_members, against_current=True),
    Option("one round with TTA; 2 members per fold", _two_members, tta=True, against_current=True),
    # issue 21: the member ends on its training rows without the warp, at a low learning rate
    Option("a last clean epoch at lr 1e-4", lambda cfg: cfg.replace(clean_epochs=1),
           against_current=True),
)


def select_options(names: tuple[str, ...] | None) -> tuple[Option, ...]:
    """The default and the previous default first, then the named options (all when None)."""
    if names is None:
        return OPTIONS
    known = {option.name: option for option in OPTIONS}
    return (*OPTIONS[:2], *(known[name] for name in names if name not in (DEFAULT, PREVIOUS)))


DEFAULT_ENSEMBLES = "cnn,cnn*2,cnn*3,cnn+lenet5,cnn+lenet5+mlp1024"

Ensemble = tuple[tuple[str, int], ...]  # (arch, seeds per fold) per architecture


@dataclass(frozen=True)
class Measured:
    name: str
    row: Row
    oof: np.ndarray  # (N, 10), NaN outside the chosen folds
    members_per_fold: int = 1


def parse_ensembles(text: str) -> list[tuple[str, Ensemble]]:
    """'cnn*2,cnn+m5' -> [('cnn*2', (('cnn', 2),)), ('cnn+m5', (('cnn', 1), ('m5', 1)))]."""
    ensembles = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        members = []
        for item in name.split("+"):
            arch, _, seeds = item.strip().partition("*")
            if arch not in ARCHS or (seeds and not seeds.isdigit()) or seeds == "0":
                raise ValueError(f"--ensembles {name!r}: write arch or arch*seeds joined by +, "
                                 f"arch from {', '.join(ARCHS)}")
            members.append((arch, int(seeds or 1)))
        if len({arch for arch, _ in members}) != len(members):
            raise ValueError(f"--ensembles {name!r}: an architecture is named twice")
        ensembles.append((name, tuple(members)))
    if not ensembles:
        raise ValueError("--ensembles: name at least one ensemble")
    return ensembles


def measure_options(comp: Competition, profile: Profile, folds: Sequence[int], runs_dir: Path,
                    base_seed: int, log: Log | None,
                    options: Sequence[Option] = OPTIONS) -> list[Measured]:
    """Every option's run (trained or reused) and its OOF figures, the default's first; the
    previous default is measured only where the profile records one."""
    previous_cfg = profile.apply_previous(Config())
    measured = []
    for option in options:
        if option.name == PREVIOUS and not profile.previous:
            continue
        if log:
            log(f"option: {option.name}")
        if option.name == DEFAULT:
            cfg = profile.apply(Config())
        else:
            cfg = option.change(profile.apply(Config()) if option.against_current
                                else previous_cfg)
        with precision_in_force(option.precision):
            row, oof, members = measure_network(cfg, option.name, comp, folds, runs_dir,
                                                base_seed, log)
        if option.tta:
            row, oof = tta_row(row, members, comp)
        measured.append(Measured(option.name, row, oof))
    return measured


def tta_row(row: Row, members: list, comp: Competition) -> tuple[Row, np.ndarray]:
    """The same members predicting every validation image as the mean of 5 shifted views."""
    from solution.models.layers import load_model
    from solution.training.augment import TTA_SHIFTS
    from solution.training.fit import predict_probs

    splits = stratified_folds(comp.train_labels)
    total = np.zeros((len(comp.train_labels), NUM_CLASSES), np.float64)
    count = np.zeros(len(comp.train_labels))
    predict_ms = 0.0
    for member in members:
        model = load_model(member.model_path)
        val_index = splits[member.fold][1]
        total[val_index] += predict_probs(model, comp.train_images[val_index], tta=True)
        count[val_index] += 1
        # the first member's timing stands for all: they are the same network
        if not predict_ms:
            predict_ms = time_predict(model, comp.train_images[val_index[:1000]], tta=True)
    oof = np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], np.nan)
    accuracy, f1, rows = scores(comp.train_labels, oof)
    seeds = len(members) // len({m.fold for m in members})
    return Row(row.model, row.parameters, row.macs * len(TTA_SHIFTS), accuracy, f1, rows,
               row.train_seconds, round(seeds * predict_ms, 1), "none", row.run,
               row.note + ", TTA at predict time"), oof.astype(np.float32)


def measure_ensembles(comp: Competition, profile: Profile, folds: Sequence[int],
                      ensembles: list[tuple[str, Ensemble]], runs_dir: Path, base_seed: int,
                      log: Log | None) -> list[Measured]:
    """Each ensemble: its architectures' runs (trained or reused), averaged per architecture."""
    base_cfg = profile.apply(Config())
    cache: dict[tuple[str, int], tuple[Row, np.ndarray]] = {}
    measured = []
    for name, members in ensembles:
        parts = []
        for arch, seeds in members:
            if (arch, seeds) not in cache:
                cfg = base_cfg.replace(arch=arch, seeds_per_fold=seeds)
                label = arch if seeds == 1 else f"{arch}*{seeds}"
                cache[arch, seeds] = measure_network(cfg, label, comp, folds, runs_dir,
                                                     base_seed, log)[:2]
            parts.append(cache[arch, seeds])
        oof = np.mean([oof for _, oof in parts], axis=0)
        accuracy, f1, rows = scores(comp.train_labels, oof)
        row = Row(name, sum(r.parameters for r, _ in parts), sum(r.macs for r, _ in parts),
                  accuracy, f1, rows, round(sum(r.train_seconds for r, _ in parts), 1),
                  round(sum(r.predict_ms_per_1000 for r, _ in parts), 1), "none",
                  ", ".join(r.run for r, _ in parts),
                  "homogeneous" if len(parts) == 1 else "heterogeneous")
        measured.append(Measured(name, row, oof, sum(seeds for _, seeds in members)))
    return measured


def write_tables(options: list[Measured], ensembles: list[Measured], scope: str,
                 profile: Profile, out_dir: Path) -> list[Path]:
    """options-<profile>.md/.json and ensembles-<profile>.md/.json in `out_dir`, each only when
    measured (so a run of ensembles alone keeps the options table); returns the .md paths."""
    header = f"Measured on {scope}, on this machine ({os.cpu_count()} CPU cores)."
    written = []
    if options:
        written.append(_write(
            Path(out_dir), f"options-{profile.name}", scope, options,
            f"Training options ({profile.name})",
            [f"{header} Each option changes one thing in the profile's previous configuration "
             "(or its current one where none is recorded); an option is kept only if it raises "
             "OOF accuracy over it on the same rows."],
            _options_table(options), []))
    if ensembles:
        written.append(_write(
            Path(out_dir), f"ensembles-{profile.name}", scope, ensembles,
            f"Ensembles ({profile.name})",
            [f"{header} Compare homogeneous and heterogeneous ensembles at equal training "
             "seconds."],
            _ensembles_table(ensembles),
            ["`arch*k`: k seeds per fold of one architecture; `a+b`: the mean of "
             "architectures a and b, one weight each, as `submit --models a,b` averages."]))
    return written


def _options_table(options: list[Measured]) -> Table:
    """Each option against what it changed (the previous default where measured, else the
    default), in points, so the verdict can be read off; the previous default against today's."""
    by_name = {m.name: m.row.oof_accuracy for m in options}
    reference = PREVIOUS if PREVIOUS in by_name else DEFAULT
    rows = []
    for m in options:
        against = DEFAULT if m.name == PREVIOUS else reference
        delta = 100 * (m.row.oof_accuracy - by_name[against])
        if m.name == DEFAULT:
            verdict = "(the profile now)"
        elif m.name == PREVIOUS:
            verdict = "(reference of the options)"
        else:
            verdict = "raises OOF" if delta > 0 else "no gain: not kept"
        rows.append((m.name, f"{m.row.oof_accuracy:.5f}",
                     "" if m.name == DEFAULT else f"{delta:+.3f} vs {against}",
                     f"{m.row.macro_f1:.5f}", f"{m.row.train_seconds:,.0f}",
                     f"{m.row.predict_ms_per_1000:,.1f}", verdict))
    right = ("OOF accuracy", "change (pp)", "macro F1", "train s", "predict ms / 1k")
    return Table((Column("option"), *(Column(name, "right") for name in right),
                  Column("verdict")), rows)


def _ensembles_table(ensembles: list[Measured]) -> Table:
    """Training seconds beside accuracy: ensembles are compared at equal training compute."""
    right = ("members per fold", "OOF accuracy", "macro F1", "train s", "predict ms / 1k",
             "MACs / image")
    return Table((Column("ensemble"), Column("kind"), *(Column(name, "right") for name in right)),
                 [(m.name, m.row.note, str(m.members_per_fold), f"{m.row.oof_accuracy:.5f}",
                   f"{m.row.macro_f1:.5f}", f"{m.row.train_seconds:,.0f}",
                   f"{m.row.predict_ms_per_1000:,.1f}", f"{m.row.macs:,}") for m in ensembles])


def _write(out_dir: Path, stem: str, scope: str, measured: list[Measured], title: str,
           intro: list[str], table: Table, notes: list[str]) -> Path:
    """The .md for people and the .json for tools; the JSON carries the rendered table too, so
    the run report shows it without parsing Markdown."""
    write_json(out_dir / f"{stem}.json", {"scope": scope, "cpu_cores": os.cpu_count(),
                                          "rows": [asdict(m.row) for m in measured],
                                          "tables": [titled(title, table, intro, notes)]})
    lines = [f"## {title}", "", *intro, "", table.markdown(), ""]
    for note in notes:
        lines += [note, ""]
    write_text(out_dir / f"{stem}.md", "\n".join(lines))
    return out_dir / f"{stem}.md"
