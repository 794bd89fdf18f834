"""The parity and accuracy table of an export, as markdown (for people) and JSON (for tools)."""

from __future__ import annotations

from pathlib import Path

from export.parity import Check
from solution.atomic import write_json, write_text
from solution.reporting.tables import Column, Table

TABLE_MD = "export.md"
TABLE_JSON = "export.json"


def checks_table(checks: list[Check]) -> Table:
    """A failed check shouts (**NO**): it is why nothing was published."""
    return Table((Column("check"), Column("value", "right"), Column("limit", "right"),
                  Column("pass", "center")),
                 [(f"{c.name}{f' ({c.detail})' if c.detail else ''}", f"{c.value:.6g}",
                   f"{c.limit:g}", "yes" if c.passed else "**NO**") for c in checks])


def accuracy_table(acc: dict) -> Table:
    """Accuracy at each step from training to int8, so a loss can be pinned on one step."""
    return Table((Column("accuracy (OOF: each member on its own validation fold)"),
                  Column("value", "right")),
                 [("run CV accuracy (as trained, every member)", f"{acc['run_cv']:.5f}"),
                  (f"unpruned Keras members ({acc.get('members_exported', '?')} of "
                   f"{acc.get('members_trained', '?')} exported)",
                   f"{acc['unpruned_keras_oof']:.5f}"),
                  ("exported Keras members (pruned where kept)",
                   f"{acc['exported_keras_oof']:.5f}"),
                  ("exported int8 ONNX", f"{acc['int8_oof']:.5f}"),
                  ("OOF rows", str(acc["oof_rows"]))])


def members_table(members: list[dict]) -> Table:
    """What pruning cost and saved per member, on the fold that member never trained on."""
    right = ("MACs before", "MACs after", "fold acc before", "fold acc after")
    return Table((Column("member"), Column("pruned", "center"), Column("channels"),
                  *(Column(name, "right") for name in right)),
                 [(str(m["member"]), "yes" if m["pruned"] else "no",
                   ",".join(map(str, m["channels"])), f"{m['macs_before']:,}",
                   f"{m['macs_after']:,}", f"{m['accuracy_before']:.5f}",
                   f"{m['accuracy_after']:.5f}") for m in members])


def budget_line(budget: dict) -> str:
    """What the speed budget chose, what it cost in images, and the whole graphs' check."""
    whole = budget["whole_graphs"]
    lost = budget["right_unpruned"] - budget["right_chosen"]
    return (f"Speed budget against {budget['reference']}: members priced at "
            f"{budget['spent_us']:.0f} us per image in batches (the reference's members: "
            f"{budget['budget_us']:.0f}); {budget['right_chosen']:,} of {budget['rows']:,} OOF "
            f"images right in Keras, {lost} fewer than every member as trained. Whole int8 "
            f"graphs taking turns: {whole['batch_speed']:.2f}x the reference's speed in "
            f"batches, {whole['single_speed']:.2f}x for one image.")


def format_table(manifest: dict, checks: list[Check], notes: list[str], published: bool,
                 seconds: float) -> str:
    acc = manifest["accuracy"]
    macs = manifest["macs"]
    variants = manifest["variants"]
    lines = [f"# Export of run {manifest['run_id']}", "",
             f"{'PUBLISHED' if published else 'REFUSED: nothing published'}; "
             f"{seconds:.0f} s; opset {manifest['opset']}; calibration "
             f"{manifest['calibration']['method']} on {manifest['calibration']['images']} "
             "training images", "",
             checks_table(checks).markdown(), "",
             accuracy_table(acc).markdown(), "",
             members_table(manifest["members"]).markdown()]
    saved = 1 - macs["ensemble_after"] / macs["ensemble_before"]
    timing = manifest["timing"]
    lines += ["", f"Ensemble MACs per image: {macs['ensemble_before']:,} -> "
              f"{macs['ensemble_after']:,} ({saved:.1%} fewer).",
              f"Files: int8 {variants['int8']['bytes']:,} bytes, fp32 "
              f"{variants['fp32']['bytes']:,} bytes.",
              f"One int8 graph vs {timing['k']} sessions (batch {timing['batch']}, "
              f"{timing['threads']} thread): {timing['one_graph_images_per_s']:.0f} vs "
              f"{timing['k_sessions_images_per_s']:.0f} images/s.",
              f"Recommended min_confidence: {manifest['min_confidence']}.", ""]
    if "speed_budget" in manifest:
        lines += [budget_line(manifest["speed_budget"]), ""]
    if notes:
        lines += ["Notes:", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def write_table(folder: Path, manifest: dict, checks: list[Check], notes: list[str],
                published: bool, seconds: float) -> Path:
    """Write export.md and export.json into `folder` (the run's export folder); returns the .md."""
    folder.mkdir(parents=True, exist_ok=True)
    text = format_table(manifest, checks, notes, published, seconds)
    write_text(folder / TABLE_MD, text)
    write_json(folder / TABLE_JSON, {"published": published, "seconds": round(seconds, 1),
                                     "checks": [c.to_dict() for c in checks], "notes": notes,
                                     "manifest": manifest})
    return folder / TABLE_MD
