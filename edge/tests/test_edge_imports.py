"""The import graph stays free of the training stack, import is cheap, and vendoring works."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import digit_edge

PACKAGE = Path(digit_edge.__file__).resolve().parent
HEAVY = ("tensorflow", "keras", "pandas", "sklearn", "scipy", "torch", "onnx", "click")


def run_python(code: str, cwd: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_reader_never_touch_the_training_stack():
    report = run_python(
        "import sys, json, time\n"
        "t = time.perf_counter(); import digit_edge; imported = time.perf_counter() - t\n"
        "lazy = 'onnxruntime' in sys.modules\n"
        "digit_edge.DigitReader(threads=1)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'lazy_ort': lazy, 'seconds': imported}))")
    assert report["heavy"] == []
    assert report["lazy_ort"] is False      # onnxruntime is loaded with the first reader
    assert report["seconds"] < 2.0          # generous: the machine may be busy; target 0.3 s


def test_only_relative_imports_inside_the_package():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith("digit_edge"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("digit_edge") for a in node.names), path.name


def test_a_vendored_copy_works_next_to_a_script(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "digit_edge",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "script.py").write_text(
        "import json, numpy as np, digit_edge\n"
        "reader = digit_edge.DigitReader(threads=1)\n"
        "res = reader.classify(np.zeros((2, 28, 28), np.uint8))\n"
        "print(json.dumps({'file': digit_edge.__file__, 'n': len(res.digits)}))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve().is_relative_to(tmp_path.resolve())
    assert report["n"] == 2
