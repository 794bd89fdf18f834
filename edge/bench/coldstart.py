"""Cold start of digit_edge: a fresh interpreter's import, then model load (sha256 + session).

Each repeat is a new process, as a script calling the package pays it. Prints the medians.

    nice -n 15 .venv/bin/python edge/bench/coldstart.py [--model PATH] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
start = time.perf_counter()
import digit_edge
imported = time.perf_counter()
digit_edge.DigitReader({model!r}, threads=1)
loaded = time.perf_counter()
print(json.dumps({{"import": imported - start, "load": loaded - imported}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Cold start of digit_edge, median of N runs.")
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    code = PROBE.format(model=args.model)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warm disk
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(args.repeats)]
    imports = statistics.median(r["import"] for r in runs)
    loads = statistics.median(r["load"] for r in runs)
    total = statistics.median(r["import"] + r["load"] for r in runs)
    print(f"cold start (median of {args.repeats} processes): import {1000 * imports:.0f} ms, "
          f"model load {1000 * loads:.0f} ms, total {1000 * total:.0f} ms (target <= 300 ms)")


if __name__ == "__main__":
    main()
