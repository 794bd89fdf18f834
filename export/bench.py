"""`make bench-edge`: throughput and latency of the exported ensemble, one CPU thread.

Keras `model.predict`, onnxruntime fp32 and int8 (the edge files), and LiteRT int8 of the same
pruned network, at batch 256 and for a single image; ratios are measured in the same run. One
warm-up, then the median of repeats.

    solution bench edge [--run runs/<id>] [--out edge/digit_edge/models]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from export.calibration import calibration_images
from export.convert import INPUT, mean_weights, session
from export.manifest import FP32_FILE, INT8_FILE
from export.run import load_run
from export.timing import median_seconds
from solution.atomic import write_json, write_text
from solution.config import Config
from solution.reporting.tables import Column, Table
from solution.runfolder import RunFolder

BATCH = 256


def keras_ensemble(members_dir: Path):
    """One Keras model averaging the exported (pruned) members, as `make export` saved them."""
    import keras

    from solution.models.layers import load_model
    from solution.models.zoo import create_model

    paths = sorted(members_dir.glob("*.keras"))
    if not paths:
        raise FileNotFoundError(f"{members_dir}: no exported members; run `make export` first")
    inputs = keras.Input((28, 28, 1), name=INPUT)
    outputs, weights = [], []
    for path in paths:
        info = json.loads(path.with_suffix(".json").read_text())
        built = create_model(Config.from_dict(info["config"]))
        built.set_weights(load_model(path, compile=False).get_weights())
        # every member of one architecture has the zoo's model name; the ensemble needs each once
        member = keras.Model(built.input, built.output, name=f"member{len(outputs)}")
        outputs.append(member(inputs))
        weights.append(info.get("weight", 1.0))
    shares = mean_weights(len(outputs), weights)
    if len(outputs) == 1:
        return keras.Model(inputs, outputs[0], name="ensemble")
    mean = keras.layers.Add(name="probabilities")(
        [keras.layers.Rescaling(w, name=f"share{k}")(out)
         for k, (out, w) in enumerate(zip(outputs, shares, strict=True))])
    return keras.Model(inputs, mean, name="ensemble")


def litert_int8(model, calibration: np.ndarray, folder: Path) -> Path | None:
    """Full-integer LiteRT model of `model` (float input/output), or None if it cannot be made."""
    import tensorflow as tf

    saved = folder / "saved"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calibration[i:i + 1]]
                                                for i in range(len(calibration)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = folder / "digits-int8.tflite"
    path.write_bytes(converter.convert())
    return path


def litert_runner(path: Path, batch: int):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, [batch, 28, 28, 1])
    interpreter.allocate_tensors()
    out = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(index, x)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return run


AGAINST = "ORT int8, --against"


def benchmark(run_dir: Path, models_dir: Path, log=print,
              against: Path | None = None) -> tuple[str, dict]:
    """Markdown table and raw figures; also written to <run>/export/bench.md and bench.json.

    `against`: another models folder (the bundle before a re-export) whose int8 model is timed in
    the same run on the same images, so the speed-up of a new export is a ratio, not a memory.
    """
    from solution.training.fit import configure_tensorflow

    configure_tensorflow(1)
    folder = RunFolder(run_dir)
    run = load_run(run_dir)  # its training rows, checked against the run's data fingerprint
    labels = run.labels
    x = calibration_images(run.images, labels, BATCH, seed=1)
    one = x[:1]
    rows: dict[str, dict] = {}

    def measure(name: str, batch_call, single_call) -> None:
        per_batch = median_seconds(batch_call, repeats=5, min_seconds=1.0)
        single = median_seconds(single_call, repeats=20, min_seconds=1.0)
        rows[name] = {"images_per_s": BATCH / per_batch, "single_ms": 1000 * single}
        log(f"{name}: {BATCH / per_batch:,.0f} images/s at batch {BATCH}, "
            f"{1000 * single:.3f} ms for one image")

    model = keras_ensemble(folder.exported_members_dir)
    measure("Keras model.predict", lambda: model.predict(x, batch_size=BATCH, verbose=0),
            lambda: model.predict(one, verbose=0))
    for name, file in (("ORT fp32", FP32_FILE), ("ORT int8", INT8_FILE)):
        sess = session(models_dir / file, threads=1)
        measure(name, lambda s=sess: s.run(None, {INPUT: x}),
                lambda s=sess: s.run(None, {INPUT: one}))
    if against is not None:
        sess = session(Path(against) / INT8_FILE, threads=1)
        measure(AGAINST, lambda: sess.run(None, {INPUT: x}), lambda: sess.run(None, {INPUT: one}))
    note = ""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = litert_int8(model, calibration_images(run.images, labels, 200), Path(tmp))
            big, small = litert_runner(path, BATCH), litert_runner(path, 1)
            measure("LiteRT int8", lambda: big(x), lambda: small(one))
            rows["LiteRT int8"]["bytes"] = path.stat().st_size
        except ImportError:
            note = "LiteRT skipped: `pip install ai-edge-litert` (the `bench` extra) to include it"
        except Exception as exc:  # converter failures vary by TF version; the rest still counts
            note = f"LiteRT skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    table = format_bench(rows, note, against)
    write_text(folder.export_dir / "bench.md", table)
    write_json(folder.export_dir / "bench.json",
               {"batch": BATCH, "threads": 1, "rows": rows, "note": note,
                "against": str(against) if against else None})
    return table, rows


def format_bench(rows: dict[str, dict], note: str, against: Path | None = None) -> str:
    keras_row, fp32_row = rows["Keras model.predict"], rows["ORT fp32"]
    right = (f"images/s, batch {BATCH}", "ms, 1 image", "batch vs Keras", "batch vs ORT fp32",
             "1 image vs Keras")
    table = Table((Column("engine (1 thread)"), *(Column(name, "right") for name in right)),
                  [(name, f"{r['images_per_s']:,.0f}", f"{r['single_ms']:.3f}",
                    f"{r['images_per_s'] / keras_row['images_per_s']:.1f}x",
                    f"{r['images_per_s'] / fp32_row['images_per_s']:.2f}x",
                    f"{keras_row['single_ms'] / r['single_ms']:.0f}x") for name, r in rows.items()])
    lines = [table.markdown()]
    if "LiteRT int8" in rows:
        ort8, lite = rows["ORT int8"], rows["LiteRT int8"]
        lines += ["", f"ORT int8 / LiteRT int8: batch "
                  f"{ort8['images_per_s'] / lite['images_per_s']:.2f}x, single image "
                  f"{lite['single_ms'] / ort8['single_ms']:.2f}x (> 1: ORT faster)"]
    if AGAINST in rows:
        new, old = rows["ORT int8"], rows[AGAINST]
        lines += ["", f"ORT int8 of this export vs the int8 model in {against}: batch "
                  f"{new['images_per_s'] / old['images_per_s']:.2f}x, single image "
                  f"{old['single_ms'] / new['single_ms']:.2f}x (> 1: this export faster)"]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"
