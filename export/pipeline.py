"""`export_run`: prune -> convert -> quantize -> check -> publish, for one finished run.

Everything is built in a temporary folder and checked there. Only when every check passes are
the int8 graph, its fp32 twin and manifest.json moved into the edge models folder (see
`export.publish`); a failed check raises `ExportRefused` and leaves that folder as it was. The
parity and accuracy table is written into the run folder either way, so a refusal can be read.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from export import int8, report
from export.budget import choose_within_budget, reference_for
from export.calibration import calibration_images
from export.convert import (
    OUTPUT,
    keep_outputs,
    keras_to_onnx,
    member_graph,
    optimize_offline,
    run_onnx,
    session,
    to_input,
)
from export.manifest import FP32_FILE, INT8_FILE, MANIFEST_FILE, build_manifest
from export.members import (
    PreparedMember,
    keep_ensemble_accuracy,
    prepare_members,
    prepare_options,
    unpruned_probs,
)
from export.parity import (
    Check,
    Thresholds,
    accuracy,
    failure_summary,
    failures,
    fp32_checks,
    int8_checks,
    pruning_check,
    sanity_checks,
    thresholds_for,
)
from export.publish import publish
from export.refused import ExportRefused
from export.run import Run, edge_members, load_run
from export.settings import ExportSettings
from export.timing import graphs_taking_turns, one_graph_vs_sessions
from solution.atomic import write_json
from solution.runfolder import RunFolder
from solution.training.precision import precision_in_force

Log = Callable[[str], None]


@dataclass
class ExportResult:
    published: list[Path]
    checks: list[Check]
    manifest: dict
    table_path: Path
    notes: list[str] = field(default_factory=list)


def export_run(run_dir: Path, out_dir: Path, *, data: str | None = None,
               settings: ExportSettings | None = None, thresholds: Thresholds | None = None,
               command: str | None = None, log: Log | None = None) -> ExportResult:
    """Export run `run_dir` into `out_dir` (the edge models folder) if every check passes."""
    settings = settings or ExportSettings()
    started = time.perf_counter()
    say = log or (lambda _message: None)
    whole = load_run(run_dir, data)
    run = edge_members(whole, settings.members_per_fold)
    say(f"run {run.run_id}: {len(whole.members)} members, {len(run.labels)} training rows, "
        f"profile {run.profile}")
    if len(run.members) < len(whole.members):
        say(f"exporting {len(run.members)} of them: the first {settings.members_per_fold} "
            "seed(s) of each fold (--members-per-fold), so the edge keeps its speed")
    if thresholds is None:
        thresholds = thresholds_for(run.profile)
        if thresholds != Thresholds():
            say(f"{run.profile} run: int8 limits relaxed to agreement >= "
                f"{thresholds.int8_min_agreement}, drop <= {thresholds.int8_max_drop_pp} pp "
                "(barely trained members); never publish a smoke export as the product")
    with refusing_failures("export", out_dir), precision_in_force("float32"):
        # float32: what ONNX and int8 get, whatever trained the run
        return _export(run, out_dir, settings, thresholds, command, say, started,
                       len(whole.members))


@contextmanager
def refusing_failures(action: str, out_dir: Path) -> Iterator[None]:
    """onnxruntime, tf2onnx and Keras raise all sorts (their own classes included) on a model
    they cannot handle (NaN ranges, unsupported layers): a refusal like any failed check,
    reported in one line, with the models folder untouched."""
    try:
        yield
    except ExportRefused:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportRefused(f"{action} failed ({type(exc).__name__}: {first[:300]}); "
                            f"{out_dir} left as it was") from exc


def _export(run: Run, out_dir: Path, settings: ExportSettings, thresholds: Thresholds,
            command: str | None, say: Log, started: float, members_trained: int) -> ExportResult:
    budget_record, reference = None, None
    if settings.no_slower_than:
        reference = reference_for(run, Path(settings.no_slower_than))
        choice = choose_within_budget(run, prepare_options(run, settings, say), reference,
                                      settings.budget_rounds, say)
        prepared, budget_record = choice.chosen, choice.record
    else:
        prepared = keep_ensemble_accuracy(run, prepare_members(run, settings, say), settings,
                                          say)
    folder = RunFolder(run.path)
    export_dir = folder.export_dir
    _save_members(prepared, folder.exported_members_dir)
    with tempfile.TemporaryDirectory(prefix="digits-export-") as tmp:
        work = Path(tmp)
        say("converting to ONNX")
        raw = keras_to_onnx([p.model for p in prepared], work / "raw.onnx", settings.opset,
                            [p.member.weight for p in prepared])
        fp32 = optimize_offline(keep_outputs(raw, work / "ensemble.onnx"), work / FP32_FILE)
        checks: list[Check] = []
        notes = [p.note for p in prepared]

        parity_x, parity_detail = parity_images(run.images, settings.parity_images, settings.seed)
        keras_probs = np.average([p.model.predict(parity_x, batch_size=512, verbose=0)
                                  for p in prepared], axis=0,
                                 weights=[p.member.weight for p in prepared])
        fp32_session = session(fp32, settings.threads)
        fp32_probs = run_onnx(fp32_session, parity_x)
        checks += fp32_checks(keras_probs, fp32_probs, thresholds, parity_detail)
        checks += sanity_checks("fp32", fp32_probs, run_onnx(fp32_session, parity_x[:1]),
                                thresholds)

        labels = run.labels
        validated = [p.member for p in prepared]
        covered = int8.covered(validated, len(labels))
        keras_oof = int8.oof(validated, [p.val_probs for p in prepared], len(labels))
        unpruned_oof = int8.oof(validated, [unpruned_probs(p) for p in prepared], len(labels))
        calibration = calibration_images(run.images, labels, settings.calibration_images,
                                         settings.seed)
        say(f"quantizing: calibration on {len(calibration)} training images, methods "
            f"{', '.join(settings.calibration_methods)}")
        choice = int8.choose_int8(fp32, run.images, labels, validated, keras_oof, calibration,
                                  settings.calibration_methods, work, settings.threads, say)
        int8_path = work / INT8_FILE
        choice.path.replace(int8_path)
        int8_oof = choice.oof
        checks += int8_checks(keras_oof[covered], int8_oof[covered], labels[covered], thresholds)
        checks.append(pruning_check(unpruned_oof[covered], keras_oof[covered], labels[covered],
                                    thresholds))
        int8_session = session(int8_path, settings.threads)
        int8_parity = run_onnx(int8_session, parity_x)
        checks += sanity_checks("int8", int8_parity, run_onnx(int8_session, parity_x[:1]),
                                thresholds)

        timing, timing_note = ensemble_timing(int8_path, len(prepared), parity_x[:256], work)
        notes += [timing_note] if timing_note else []
        min_conf = int8.min_confidence_record(int8_oof[covered], labels[covered])
        if not min_conf["reached"]:
            notes.append(int8.NO_THRESHOLD_NOTE)
        accuracy_figures = {
            "run_cv": run.cv_accuracy,
            "members_trained": members_trained,
            "members_exported": len(prepared),
            "oof_rows": int(covered.sum()),
            "unpruned_keras_oof": accuracy(unpruned_oof[covered], labels[covered]),
            "exported_keras_oof": accuracy(keras_oof[covered], labels[covered]),
            "int8_oof": accuracy(int8_oof[covered], labels[covered]),
        }
        macs = {"per_member_before": [p.macs_before for p in prepared],
                "per_member_after": [p.macs_after for p in prepared],
                "ensemble_before": sum(p.macs_before for p in prepared),
                "ensemble_after": sum(p.macs_after for p in prepared)}
        calibration_info = int8.calibration_record(choice, len(calibration))
        manifest = build_manifest(
            work, run_id=run.run_id, command=command or " ".join(sys.argv),
            members=[p.summary() for p in prepared], macs=macs, accuracy=accuracy_figures,
            parity=[c.to_dict() for c in checks], min_confidence=min_conf,
            calibration=calibration_info, settings=settings.to_dict(),
            thresholds=thresholds.to_dict(), opset=settings.opset, timing=timing)
        if budget_record is not None and reference is not None:
            manifest["speed_budget"] = {**budget_record, "whole_graphs": whole_graphs_against(
                reference.int8_file, int8_path, parity_x[:256], settings.budget_rounds)}
        write_json(work / MANIFEST_FILE, manifest)
        failed = failures(checks)
        table_path = report.write_table(export_dir, manifest, checks, notes, published=not failed,
                                        seconds=time.perf_counter() - started)
        if failed:
            raise ExportRefused(f"{failure_summary(failed)}; {out_dir} left as it was; table in "
                                f"{table_path}")
        placed = publish([work / INT8_FILE, work / FP32_FILE, work / MANIFEST_FILE], out_dir)
    say(f"published {', '.join(p.name for p in placed)} into {out_dir}")
    return ExportResult(placed, checks, manifest, table_path, notes)


def ensemble_timing(int8_path: Path, members: int, images: np.ndarray,
                    work: Path) -> tuple[dict[str, float], str | None]:
    """One ensemble session against one session per member, one thread; and a note where the
    members apart were faster (the edge contract stays one file)."""
    members_paths = [member_graph(int8_path, work / f"member{k}.onnx", k)
                     for k in range(members)]
    timing = one_graph_vs_sessions(int8_path, members_paths, images, threads=1)
    if timing["k_sessions_images_per_s"] <= timing["one_graph_images_per_s"]:
        return timing, None
    return timing, ("K separate sessions measured faster than the one graph "
                    f"({timing['k_sessions_images_per_s']:.0f} vs "
                    f"{timing['one_graph_images_per_s']:.0f} images/s); the edge contract is one "
                    "file, so the one graph is kept")


def whole_graphs_against(ref_file: Path, int8_path: Path, images: np.ndarray,
                         rounds: int) -> dict[str, dict[str, float]]:
    """The reference package's int8 graph and the new one, each whole, taking turns on one
    thread: the check on the per-member prices the budget chose by (`export.budget`)."""
    ref, new = graphs_taking_turns([ref_file, int8_path], images, rounds=rounds)
    return {"reference": ref, "exported": new,
            "batch_speed": new["images_per_s"] / ref["images_per_s"],
            "single_speed": ref["single_ms"] / new["single_ms"]}


def parity_images(images: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """(count, 28, 28, 1) float32: training images, topped up with noise when there are fewer.

    Noise images (uniform, and sparse strokes) are a harder parity test than digits anyway: they
    reach activation ranges the digits never do.
    """
    rng = np.random.default_rng(seed)
    take = min(count, len(images))
    rows = np.sort(rng.choice(len(images), take, replace=False))
    x = to_input(images[rows])
    extra = count - take
    if extra <= 0:
        return x, f"{take} training images"
    noise = rng.random((extra, 28, 28, 1), dtype=np.float32)
    noise *= rng.random((extra, 28, 28, 1), dtype=np.float32) < 0.2
    return np.concatenate([x, noise]), f"{take} training images + {extra} noise images"


def _save_members(prepared: list[PreparedMember], folder: Path) -> None:
    """The exported Keras members, for `bench-edge` and for anyone re-checking the export."""
    from solution.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    for p in prepared:
        with atomic_path(folder / f"{p.member.name}.keras") as tmp:
            p.model.save(tmp)
        write_json(folder / f"{p.member.name}.json", {**p.summary(),
                                                      "config": p.config.to_dict()})


__all__ = ["OUTPUT", "ExportRefused", "ExportResult", "export_run"]
