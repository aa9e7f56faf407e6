"""The mutants a mutation-score measurement runs: a seeded random sample of all of them, plus every
mutant of the modules whose every line matters most (README, Development).

The whole of ``tui_backprop/check/`` makes about 5,000 mutants, some 9 hours on one worker; a
sample of n gives the score within ±1.96·sqrt(p(1-p)/n) (±3 % at n = 400 and p = 0.9). Reads the
names from ``mutmut results --all true`` (after a ``mutmut run`` that generated them) and prints
the chosen names, one per line, for ``mutmut run $(...)``.

    python benchmarks/mutation_sample.py [--seed 14] [--size 400] [--whole verdict projection diagnosis]
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys

NAME = re.compile(r"^\s*(tui_backprop\.check\.[\w.]+__mutmut_\d+)\s*:")


def all_mutants(mutmut: str) -> list[str]:
    out = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True)
    return sorted({m.group(1) for line in out.stdout.splitlines() if (m := NAME.match(line))})


def chosen(names: list[str], seed: int, size: int, whole: list[str]) -> list[str]:
    """Every mutant of the ``whole`` modules, and ``size`` of the others drawn with ``seed``."""
    module = lambda name: name.split(".")[2]  # noqa: E731 - tui_backprop.check.MODULE.x_f__mutmut_N
    kept = [n for n in names if module(n) in whole]
    rest = [n for n in names if module(n) not in whole]
    return kept + sorted(random.Random(seed).sample(rest, min(size, len(rest))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--whole", nargs="*", default=["verdict", "projection", "diagnosis"])
    parser.add_argument("--mutmut", default="mutmut")
    args = parser.parse_args()
    names = all_mutants(args.mutmut)
    if not names:
        sys.exit("no mutants listed: run `mutmut run 'none*'` first to generate them")
    print("\n".join(chosen(names, args.seed, args.size, args.whole)))


if __name__ == "__main__":
    main()
