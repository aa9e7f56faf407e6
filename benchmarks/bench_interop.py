"""A custom torch.autograd.Function checked by backprop-tui beside torch.autograd.gradcheck.

The same Function, inputs and float64 values go to three checkers:

- ``backprop-tui``: ``torch_op(Function)`` in a graph ``L = Σ Function(x, W, b) · r`` (``r`` seeded
  random), every gradient checked element by element (the check's public entry, default settings);
- ``gradcheck full``: ``torch.autograd.gradcheck(Function.apply, inputs)``, the whole Jacobian of
  every output with respect to every input, numerically and analytically;
- ``gradcheck fast``: the same with ``fast_mode=True`` (one random projection of each Jacobian).

Functions: ``LinearReLU`` (relu(x Wᵀ + b), its backward by hand, W square) and the same with the
missing transpose of ``tests/scenario_files/torch_linear_relu.py`` (dW = xᵀ · dz). Per size
(batch × features) and checker: the time (best of ``--repeat`` runs, so the ratios hold on a shared
machine) and what it says: pass, or for backprop-tui the blamed node, the diagnosis and how many
elements differ; for gradcheck the first line of its error and how long the whole message is.

    python benchmarks/bench_interop.py [--sizes 4x8 16x32 32x64] [--repeat 3]

Needs torch (``pip install 'backprop-tui[torch]'``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "scenario_files"))

try:
    import torch
    from torch.autograd.gradcheck import GradcheckError
except ImportError:
    sys.exit("bench_interop needs PyTorch: pip install 'backprop-tui[torch]'")

from torch_linear_relu import LinearReLU, LinearReLUMissingTranspose

from tui_backprop import Graph, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core.trace import run
from tui_backprop.interop import torch_op


def inputs(batch: int, features: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, features))
    W = rng.standard_normal((features, features)) / np.sqrt(features)
    b = 0.1 * rng.standard_normal(features)
    return [x, W, b]


def ours(function: type, values: list[np.ndarray]) -> str:
    g = Graph()
    x, W, b = g.input("x", values[0]), g.param("W", values[1]), g.param("b", values[2])
    h = torch_op(function)(x, W, b, name="h")
    r = g.input("r", np.random.default_rng(1).standard_normal(values[0].shape))
    trace = run(g, ops.sum(ops.mul(h, r, name="h·r"), name="L"))
    result = check(trace, CheckSettings.for_dtype("float64"))
    if result.verdict == "pass":
        return "pass (every element compared)"
    if not result.blame:
        return result.verdict
    said = []
    for name in result.blame:
        node, nc = trace.graph[name], result.nodes[name]
        for position, c in nc.local.items():
            if c.status != "mismatch":
                continue
            parent = node.inputs[position].name
            words = nc.diagnosis.get(position, "no pattern named")
            said.append(f"{parent}: {words}; {c.n_mismatch} of {c.n_probed} elements differ, each listed")
    return f"blamed {', '.join(result.blame)}: " + " | ".join(said)


def torchs(function: type, values: list[np.ndarray], fast: bool) -> str:
    tensors = tuple(torch.from_numpy(v.copy()).requires_grad_() for v in values)
    try:
        torch.autograd.gradcheck(function.apply, tensors, fast_mode=fast)
    except GradcheckError as exc:
        text = str(exc)
        first = text.strip().splitlines()[0].rstrip(",")
        return f"GradcheckError: {first} (message: {len(text.splitlines())} lines, {len(text)} chars)"
    return "pass"


def timed(run_once: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, said = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        said = run_once()
        best = min(best, time.perf_counter() - start)
    return best, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["4x8", "16x32", "32x64"])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, float64, best of {options.repeat}; ratio = time / gradcheck fast")
    print(f"{'function':<28} {'size':<6} {'checker':<14} {'time':>9} {'ratio':>6}  what it says")
    for function in (LinearReLU, LinearReLUMissingTranspose):
        for size in options.sizes:
            batch, features = (int(n) for n in size.split("x"))
            values = inputs(batch, features)
            checkers = {
                "backprop-tui": partial(ours, function, values),
                "gradcheck full": partial(torchs, function, values, False),
                "gradcheck fast": partial(torchs, function, values, True),
            }
            rows = [(name, *timed(run_once, options.repeat)) for name, run_once in checkers.items()]
            fast = rows[2][1]
            for k, (checker, seconds, said) in enumerate(rows):
                name, shown = (function.__name__, size) if k == 0 else ("", "")
                ratio = seconds / fast
                print(f"{name:<28} {shown:<6} {checker:<14} {seconds:>8.3f}s {ratio:>5.1f}x  {said}")


if __name__ == "__main__":
    main()
