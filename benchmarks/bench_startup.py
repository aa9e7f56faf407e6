"""How long ``backprop-tui check sigmoid-chain`` takes as a whole process, against ``import numpy``.

The check needs numpy, so ``python -c "import numpy"`` is the floor: everything above it is our own
start-up (imports, loading the scenario, the check, the table). Both commands are spawned in
turns, a fresh interpreter each time, and compared in one run (so both see the same machine
load): the best and the median wall time, and the median CPU time (user + system), which a busy
machine disturbs least. Target (issue 15): the check within 1.6x of
``import numpy``.

    .venv/bin/python benchmarks/bench_startup.py [--runs N] [--imports]

``--imports`` also prints the slowest modules of one check, from ``python -X importtime``: where to
look when the ratio grows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.6
NUMPY = [sys.executable, "-c", "import numpy"]
CHECK = [sys.executable, "-m", "tui_backprop", "check", "sigmoid-chain"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Users' installs have their bytecode cached: so do the runs measured here (the warm-up writes it)."""


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(argv: list[str], count: int = 15) -> list[tuple[int, str]]:
    """The modules with the largest cumulative import time (µs) in one run of ``argv``."""
    env = {**ENV, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--imports", action="store_true", help="also print the slowest imports of the check")
    args = parser.parse_args()
    timed(NUMPY), timed(CHECK)  # warm the file cache and write the bytecode
    runs: dict[str, list[tuple[float, float]]] = {"import numpy": [], "check sigmoid-chain": []}
    for _ in range(args.runs):
        runs["import numpy"].append(timed(NUMPY))
        runs["check sigmoid-chain"].append(timed(CHECK))
    for label, times in runs.items():
        walls, cpus = [w * 1e3 for w, _ in times], [c * 1e3 for _, c in times]
        print(
            f"{label:<22} wall best {min(walls):5.0f} ms  median {statistics.median(walls):5.0f} ms"
            f"   cpu median {statistics.median(cpus):5.0f} ms"
        )
    numpy_runs, check_runs = runs["import numpy"], runs["check sigmoid-chain"]
    best = min(w for w, _ in check_runs) / min(w for w, _ in numpy_runs)
    median = statistics.median(w for w, _ in check_runs) / statistics.median(w for w, _ in numpy_runs)
    cpu = statistics.median(c for _, c in check_runs) / statistics.median(c for _, c in numpy_runs)
    print(
        f"ratio check / import numpy: wall best {best:.2f}x  wall median {median:.2f}x  "
        f"cpu median {cpu:.2f}x   (target {TARGET}x)"
    )
    if args.imports:
        print("\nslowest imports of one check (cumulative µs):")
        for micros, name in slowest_imports(CHECK):
            print(f"{micros:>9}  {name}")


if __name__ == "__main__":
    main()
