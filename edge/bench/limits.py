"""The limits bench: hostile images through `digit-edge read`, each in its own process, with the
wall time and peak memory (ru_maxrss) of that process. Target: every image read or refused in
<= 2 s and <= 500 MB on 2 threads, whatever the ink.

    .venv/bin/python -m edge.bench.limits --out build/edge/limits      (make edge-limits)

Each process pays the CLI's start-up (Python, onnxruntime, the models) once, as a user's script
calling `digit-edge read` does; the `start-up` row is that cost alone (a blank image).
Writes limits.md (the table) beside the images.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from edge.bench import hostile
from edge.bench.sources import sklearn_digits

TIME_LIMIT = 2.0      # seconds per image, the target
MEMORY_LIMIT = 500.0  # MB per image
# `digit-edge read` itself, then its own peak memory (VmHWM) on the last line of stderr: a child's
# ru_maxrss on Linux starts from its parent's peak at fork, so the bench's own memory would count.
PEAK = """
import sys
from digit_edge.cli import main
try:
    status = main(sys.argv[1:])
finally:
    sys.stdout.flush()
    peak = [x for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
    sys.stderr.write("\\n" + peak.strip() + "\\n")
sys.exit(status)
"""


def cases(digits: np.ndarray, labels: np.ndarray) -> dict[str, tuple[Callable[[], Image.Image],
                                                                      str | None]]:
    """name -> (image maker, --format); the first two rows are the ones issue 19 reported."""
    rng = np.random.default_rng(0)
    line = "".join(str(d) for d in rng.integers(10, size=100))
    return {
        "start-up (blank 200x60)": (lambda: Image.new("L", (200, 60), hostile.PAPER), None),
        "speckle 3000x200, 3%": (lambda: hostile.speckle(3000, 200, 0.03), "amount"),
        "speckle 800x100, 2%": (lambda: hostile.speckle(800, 100, 0.02), None),
        "speckle 6000x1200, 1%": (lambda: hostile.speckle(6000, 1200, 0.01), None),
        "speckle 2400x250, 0.3%, 2x2": (lambda: hostile.speckle(2400, 250, 0.003, size=2), None),
        "400 blobs 4000x120": (lambda: hostile.blobs(4000, 120, 400), None),
        "60 blobs 1200x300": (lambda: hostile.blobs(1200, 300, 60, radius=(4, 12)), None),
        "45 large blots 300x128": (lambda: hostile.blobs(301, 128, 45, 4, radius=(5, 8)), None),
        "hatching 2400x250": (lambda: hostile.hatching(2400, 250, 9), None),
        "noise 775x775, 50%": (lambda: hostile.noise(775, 775), None),
        "noise 2400x250, 10%": (lambda: hostile.noise(2400, 250, share=0.1), "zip"),
        "page of text 1275x1650": (lambda: hostile.text_page(), None),
        "20-digit line": (lambda: hostile.digit_line(digits, labels, line[:20]), None),
        "60-digit line": (lambda: hostile.digit_line(digits, labels, line[:60]), None),
        "100-digit line": (lambda: hostile.digit_line(digits, labels, line), None),
    }


def run_one(path: Path, fmt: str | None, threads: int) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit status, the first line it printed or its error) of one
    `digit-edge read`."""
    command = [sys.executable, "-c", PEAK, "read", str(path), "--threads", str(threads)]
    if fmt:
        command += ["--format", fmt]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output, errors = (text.decode(errors="replace").strip().splitlines()
                      for text in process.communicate())
    seconds = time.perf_counter() - start
    said = (output + errors[:-1] or [""])[0].replace(str(path), path.name)
    return seconds, int(errors[-1].split()[-2]) / 1024, process.returncode, said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/edge/limits"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    digits, labels = sklearn_digits()
    rows = ["| image | format | seconds | peak MB | exit | what it said |",
            "|---|---|---|---|---|---|"]
    worst = (0.0, 0.0)
    for index, (name, (make, fmt)) in enumerate(cases(digits, labels).items()):
        path = args.out / f"{index:02d}.png"
        make().save(path)
        seconds, megabytes, status, said = run_one(path, fmt, args.threads)
        worst = (max(worst[0], seconds), max(worst[1], megabytes))
        shown = said if len(said) <= 110 else said[:107] + "..."
        rows.append(f"| {name} | {fmt or 'free'} | {seconds:.2f} | {megabytes:.0f} | {status} | "
                    f"`{shown}` |")
        print(rows[-1], flush=True)
    verdict = "within" if worst[0] <= TIME_LIMIT and worst[1] <= MEMORY_LIMIT else "OVER"
    summary = (f"\nworst: {worst[0]:.2f} s, {worst[1]:.0f} MB per process ({verdict} the "
               f"{TIME_LIMIT:.0f} s / {MEMORY_LIMIT:.0f} MB target); {args.threads} threads, "
               f"CPU: {_cpu()}")
    (args.out / "limits.md").write_text("\n".join(rows) + "\n" + summary + "\n")
    print(summary)
    return 0 if verdict == "within" else 1


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
