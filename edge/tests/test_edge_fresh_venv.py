"""In a fresh virtual environment holding only the edge package: no TensorFlow, CLI works.

Slow (a venv and a pip install): marked `slow`, run by CI (`make test`), not `make test-fast`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from edge_helpers import field, scan

EDGE = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fresh_venv_classifies_and_reads_without_tensorflow(tmp_path, train_digits):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", str(EDGE)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]

    probe = subprocess.run(
        [str(python), "-c", "import importlib.util, json; print(json.dumps({m: "
         "importlib.util.find_spec(m) is not None for m in ('tensorflow', 'keras', 'pandas', "
         "'sklearn', 'digit_edge', 'onnxruntime')}))"],
        capture_output=True, text=True, check=True, cwd=tmp_path)
    found = json.loads(probe.stdout)
    assert found == {"tensorflow": False, "keras": False, "pandas": False, "sklearn": False,
                     "digit_edge": True, "onnxruntime": True}

    images, _ = train_digits
    digits = tmp_path / "digits"
    digits.mkdir()
    for index in range(3):
        scan(images[index]).save(digits / f"{index}.png")
    image, _ = field(list(images[:5]), gaps=[2, 3, 4, 5])
    image.save(tmp_path / "zip.png")

    script = env_dir / "bin" / "digit-edge"
    classify = subprocess.run([str(script), "classify", str(digits), "--json"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert classify.returncode == 0, classify.stderr
    rows = [json.loads(line) for line in classify.stdout.splitlines()]
    assert len(rows) == 3 and all(set(r) == {"path", "digit", "confidence", "kind"}
                                  for r in rows)

    read = subprocess.run([str(script), "read", str(tmp_path / "zip.png"), "--json",
                           "--format", "zip"],   # the glyph model came with the install too
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert read.returncode == 0, read.stderr
    row = json.loads(read.stdout)
    assert len(row["digits"]) == 5 and len(row["text"]) == 5 and row["format"] == "zip"

    missing = subprocess.run([str(script), "classify", str(tmp_path / "nope.png")],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert missing.returncode == 1 and "nope.png" in missing.stderr
    assert sys.executable not in str(script)
