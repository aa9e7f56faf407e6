"""The check at scale: time, peak memory and growth on graphs far bigger than the built-ins.

Every graph is built with the public API (``Graph``, ``ops``) inside a scenario file written to a
temporary folder, and checked by the real command line (``backprop-tui check FILE``) in a child
process, so the peak RSS is that of ``check`` itself: the child's VmHWM, its own address space's
high-water mark (``getrusage``'s ru_maxrss would count the parent's pages copied before exec). The
child reports how long the build-and-run took and how long the whole ``check`` command took; the
check time is the difference (it includes printing the table, a few milliseconds).

Graphs (the table of issue 11):
  mlp-1224   relu MLP 1224 → 612 → 306 → … → 4, log-softmax cross-entropy, batch 32 (1.0M params)
  mlp-548    the same family from 548 wide (200k params), batch 32
  rounds     10 rounds of mul, sigmoid, add on a length-4096 vector (86k leaf elements)
  chain-250  250 linear(8→8) + tanh layers (1,003 nodes)
  deep-mlp   the built-in scenario (44k params, one sample)

Growth: the check time over a few sizes of one knob at a time (best of two runs), with the
exponent of the fitted power law (slope of log time against log size): parameter elements (MLP
width), batch, node count (chain depth), and leaf elements of the elementwise graph; each point
also gives the check time divided by the time of one forward and backward pass ("x run").

Torch: when ``import torch`` works in this interpreter, ``torch.autograd.gradcheck(fast_mode=True)``
on the same nets in float64 (every leaf, input included, requires grad), timed in a child too; the
ratio ours / torch is printed (for the user-layer nets, torch runs the same net with its own
linear: the same maths on the same values), and each user-layer net's check time as a multiple of
the built-in net's, against issue 14's targets (within 2x, peak RSS ≤ 120 MiB: "met" or
"MISSED"). Torch is never a dependency of the package or its tests.

    python benchmarks/bench_scale.py [--quick] [--only NAME ...] [--no-growth] [--growth KNOB ...]
                                      [-- CHECK_ARGS ...]

``--quick`` skips the 1M-parameter MLPs; ``--detect`` prints, for the MLP with the built-in
linear, with the user's own dense op (``custom_op``) and with the user's own Dense class
(``layer()``), the smallest error of one element of dW1 that ``check`` blames. Anything after
``--`` is passed to ``check`` (for example
``--exhaustive``). Ratios are measured in one run; absolute times are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
SAMPLE = 64
"""Elements per tensor in the sampled check (``--sample``)."""


# ---------------------------------------------------------------- the graphs, public API only
def mlp_sizes(width: int) -> list[int]:
    """``width``, halving down to 4 classes: deep-mlp's shape (256 → … → 4) at any width."""
    sizes = [width]
    while sizes[-1] // 2 >= 4:
        sizes.append(sizes[-1] // 2)
    return sizes


class Dense:
    """A user's own Dense layer, as course code writes it (for ``layer()``): W @ x + b on columns."""

    def __init__(self, w, b, error: float = 0.0):
        self.W, self.b, self.error = w, b, error

    def forward(self, x):
        self.x = x
        return self.W @ x + self.b

    def backward(self, dy):
        self.dW = dy @ self.x.T
        if self.error:
            self.dW[3, 5] += self.error * float(np.median(np.abs(self.dW)))
        self.db = dy.sum(axis=1, keepdims=True)
        return self.W.T @ dy


def dense_layer(g, k: int, w, b, h, style: str, error: float):
    """Layer k as the built-in linear, the user's own op (custom_op) or the user's class (layer());
    ``error``: dW1[3, 5] off by this times the median |dW1| (the smallest error each catches)."""
    from tui_backprop import custom_op, ops
    from tui_backprop.layers import layer

    error = error if k == 1 else 0.0
    if style == "layer":
        return layer(Dense(w, b, error), h, f"dense{k}")
    wn, bn = g.param(f"W{k}", w), g.param(f"b{k}", b)

    def backward(u, out, w_, h_, b_):
        dw = u @ h_.T
        if error:
            dw[3, 5] += error * float(np.median(np.abs(dw)))
        return dw, w_.T @ u, u.sum(axis=1, keepdims=True)

    if style == "custom":
        dense = custom_op("dense", lambda w_, h_, b_: w_ @ h_ + b_, backward, "{out} = {0}·{1} + {2}")
        return dense(wn, h, bn, name=f"z{k}")
    linear = ops.linear.with_backward(backward) if error else ops.linear
    return linear(wn, h, bn, name=f"z{k}")


def build_mlp(g, width: int, batch: int, style: str = "builtin", error: float = 0.0):
    """A relu MLP with a log-softmax cross-entropy over a batch (columns are samples); its dense
    layers the built-in ``linear``, or the user's own (``custom``: custom_op, ``layer``: layer())."""
    from tui_backprop import ops

    rng = np.random.default_rng(0)
    sizes = mlp_sizes(width)
    h = g.input("x", rng.standard_normal((sizes[0], batch)))
    labels = rng.integers(sizes[-1], size=batch)
    onehot = np.zeros((sizes[-1], batch))
    onehot[labels, np.arange(batch)] = 1.0
    y = g.input("y", onehot)
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, (fan_out, fan_in))
        b = rng.uniform(-0.1, 0.1, (fan_out, 1))
        h = dense_layer(g, k, w, b, h, style, error)
        if k < len(sizes) - 1:
            h = ops.relu(h, name=f"a{k}")
    logp = ops.log_softmax(h, axis=0, name="logp")
    picked = ops.sum(ops.mul(logp, y, name="ylogp"), name="total")
    return ops.scale(picked, -1.0 / batch, name="loss")


def build_rounds(g, length: int, rounds: int = 10):
    """``h = sigmoid(h · w_r) + b_r``, ``rounds`` times: every op elementwise on one long vector."""
    from tui_backprop import ops

    rng = np.random.default_rng(0)
    h = g.input("x", rng.standard_normal(length))
    for r in range(1, rounds + 1):
        w = g.param(f"w{r}", rng.uniform(0.5, 1.5, length))
        b = g.param(f"b{r}", rng.uniform(-0.5, 0.5, length))
        h = ops.add(ops.sigmoid(ops.mul(h, w, name=f"m{r}"), name=f"s{r}"), b, name=f"h{r}")
    return ops.sum(ops.square(h, name="sq"), name="L")


def build_chain(g, layers: int):
    """``layers`` times ``h = tanh(W h + b)`` with 8×8 weights: depth without width."""
    from tui_backprop import ops

    rng = np.random.default_rng(0)
    h = g.input("x", rng.standard_normal((8, 1)))
    for k in range(1, layers + 1):
        w = g.param(f"W{k}", rng.standard_normal((8, 8)) / math.sqrt(8) * 1.2)
        b = g.param(f"b{k}", rng.uniform(-0.1, 0.1, (8, 1)))
        h = ops.tanh(ops.linear(w, h, b, name=f"z{k}"), name=f"a{k}")
    return ops.sum(ops.square(h, name="sq"), name="L")


BUILDERS = {
    "mlp": build_mlp,
    "mlp_custom": lambda g, width, batch, error=0.0: build_mlp(g, width, batch, "custom", error),
    "mlp_layer": lambda g, width, batch, error=0.0: build_mlp(g, width, batch, "layer", error),
    "mlp_error": lambda g, width, batch, error=0.0: build_mlp(g, width, batch, "builtin", error),
    "rounds": build_rounds,
    "chain": build_chain,
}


@dataclass(frozen=True)
class Spec:
    """One graph: a builder and its arguments, or a built-in slug."""

    label: str
    family: str
    args: tuple[int, ...] = ()

    def scenario(self, folder: Path) -> str:
        """What ``check`` takes: the built-in's slug, or a scenario file written to ``folder``."""
        if self.family == "builtin":
            return self.label
        path = folder / f"{self.family}_{'_'.join(map(str, self.args))}.py"
        path.write_text(
            textwrap.dedent(
                f'''\
                """{self.label}"""
                import sys
                sys.path.insert(0, {str(BENCH_DIR)!r})
                from bench_scale import BUILDERS


                def build(g, bug=None):
                    return BUILDERS[{self.family!r}](g, *{self.args!r})
                '''
            )
        )
        return str(path)


TABLE = [
    Spec("mlp-1224", "mlp", (1224, 32)),
    Spec("mlp-1224-op", "mlp_custom", (1224, 32)),
    Spec("mlp-1224-lay", "mlp_layer", (1224, 32)),
    Spec("mlp-548", "mlp", (548, 32)),
    Spec("mlp-548-op", "mlp_custom", (548, 32)),
    Spec("mlp-548-lay", "mlp_layer", (548, 32)),
    Spec("rounds", "rounds", (4096,)),
    Spec("chain-250", "chain", (250,)),
    Spec("deep-mlp", "builtin"),
]
GROWTH = {
    "params (MLP width 512..2048, batch 32)": [Spec(f"mlp-{w}", "mlp", (w, 32)) for w in (512, 1024, 2048)],
    "batch (MLP 1024 wide, batch 32..256)": [
        Spec(f"mlp-1024x{b}", "mlp", (1024, b)) for b in (32, 64, 128, 256)
    ],
    "nodes (chain of 250..2000 layers)": [Spec(f"chain-{n}", "chain", (n,)) for n in (250, 500, 1000, 2000)],
    "leaf elements (10 rounds, length 1024..1048576)": [
        Spec(f"rounds-{n}", "rounds", (n,)) for n in (1024, 8192, 65536, 131072, 1048576)
    ],
}
BOUNDS = {
    "params": "each layer costs a few matmuls (adjoints pull numeric gradients back): linear in params",
    "batch": "the same matmuls grow with the batch: linear in batch",
    "nodes": "a node costs its consumers' local work, not the whole downstream: linear in nodes",
    "leaf": "elementwise ops run twice per input (column grouping): a constant times the forward",
}
"""What bounds each exponent, printed beside it (README, "How the check works")."""
REPEATS = 2
"""Table rows and growth points take the best of this many runs: the machine is shared."""


# ---------------------------------------------------------------- children
CHILD = """
import json, os, sys, time
import tui_backprop.core.scenarios as sc
spent = {"run": 0.0}
original = sc.trace_scenario
def timed(*args, **kw):
    start = time.perf_counter()
    try:
        return original(*args, **kw)
    finally:
        spent["run"] += time.perf_counter() - start
sc.trace_scenario = timed
from tui_backprop.cli.main import main
stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
start = time.perf_counter()
code = main(sys.argv[1:])
total = time.perf_counter() - start
sys.stdout = stdout
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "run": spent["run"], "check": total - spent["run"], "hwm_kib": hwm}))
"""


@dataclass
class Measured:
    code: int
    run: float
    check: float
    rss_mib: float


def measure(scenario: str, extra: list[str]) -> Measured:
    """``backprop-tui check SCENARIO`` in a child: its times and its peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "check", scenario, *extra], capture_output=True, text=True, check=False
    )
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f"child failed on {scenario}:\n{proc.stdout}\n{proc.stderr}") from None
    return Measured(data["code"], data["run"], data["check"], data["hwm_kib"] / 1024)


def torch_available() -> bool:
    """Asked in a child: importing torch here would only make this process heavy."""
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, check=False)
    return probe.returncode == 0


def torch_child(spec: Spec) -> float:
    """Time ``torch.autograd.gradcheck(fast_mode=True)`` on the same net, in float64."""
    import torch

    from tui_backprop import Graph
    from tui_backprop.core.scenarios import load, trace_scenario

    if spec.family == "builtin":
        trace = trace_scenario(load(spec.label))
        label = int(np.argmin(trace.grads["logp"].reshape(-1)))  # d(-logp[label])/dlogp = -1 there
        onehot = np.zeros_like(trace.values["logp"])
        onehot.reshape(-1)[label] = 1.0
        values, batch = trace.values, 1.0
    else:
        from tui_backprop.core.trace import run

        g = Graph()
        out = BUILDERS[spec.family](g, *spec.args)
        values = run(g, out).values
        onehot, batch = values["y"], float(values["y"].shape[1])
    layers = sum(1 for name in values if name.startswith("W") and name[1:].isdigit())
    names = ["x"] + [f"{p}{k}" for k in range(1, layers + 1) for p in ("W", "b")]
    leaves = [torch.tensor(values[n], dtype=torch.float64, requires_grad=True) for n in names]
    y = torch.tensor(onehot, dtype=torch.float64)

    def net(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        h = x
        for k in range(layers):
            h = params[2 * k] @ h + params[2 * k + 1]
            if k < layers - 1:
                h = torch.relu(h)
        return -(torch.log_softmax(h, dim=0) * y).sum() / batch

    start = time.perf_counter()
    ok = torch.autograd.gradcheck(net, tuple(leaves), fast_mode=True)
    elapsed = time.perf_counter() - start
    assert ok
    return elapsed


def measure_torch(spec: Spec) -> float | None:
    if spec.family not in ("mlp", "builtin") or (spec.family == "builtin" and spec.label != "deep-mlp"):
        return None
    out = subprocess.run(
        [sys.executable, __file__, "--torch-child", spec.label, spec.family, *map(str, spec.args)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"  torch failed on {spec.label}: {out.stderr.strip().splitlines()[-1:]}")
        return None


# ---------------------------------------------------------------- report
def exponent(sizes: list[float], times: list[float]) -> float:
    """Slope of log(time) against log(size): the power of the fitted growth law."""
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def graph_size(spec: Spec) -> dict[str, int]:
    from tui_backprop import Graph
    from tui_backprop.core.scenarios import build, load

    if spec.family == "builtin":
        g, _ = build(load(spec.label), None, "float64")
    else:
        g = Graph()
        BUILDERS[spec.family](g, *spec.args)
    leaf = [n.value.size for n in g.nodes if n.op is None]
    params = [n.value.size for n in g.nodes if n.kind == "param"]
    return {"nodes": len(g.nodes), "params": sum(params), "leaf": sum(leaf)}


TORCH_TWIN = {"mlp_custom": "mlp", "mlp_layer": "mlp"}
"""The user-layer nets compute the built-in net's maths on the same values: torch runs that one."""
TARGET_RATIO = 2.0
"""Issue 14: a user-layer net's full check within this many times the built-in net's."""
TARGET_RSS_MIB = 120.0
"""Issue 14: peak RSS of every 1M-parameter check, full or sampled."""


def targets(label: str, full: Measured, sampled: Measured, builtin: float | None) -> str:
    """Issue 14's targets for one 1M-parameter row, each said met or missed."""
    said = []
    if builtin:
        ratio = full.check / builtin
        said.append(
            f"{ratio:.1f}x built-in (≤ {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
        )
    rss = max(full.rss_mib, sampled.rss_mib)
    said.append(f"RSS ≤ {TARGET_RSS_MIB:g} MiB: {'met' if rss <= TARGET_RSS_MIB else 'MISSED'}")
    if sampled.check > full.check:
        said.append("sampled slower than full")
    return "  " + ", ".join(said)


def table(specs: list[Spec], extra: list[str], folder: Path, with_torch: bool) -> None:
    """One row per graph; a user-layer net also says how many times the built-in net's check
    time it took (same width and batch, measured earlier in the same run)."""
    builtin: dict[tuple[int, ...], float] = {}
    torch_times: dict[tuple[str, tuple[int, ...]], float | None] = {}
    print(
        f"{'graph':<11} {'nodes':>6} {'params':>9} {'run':>7} {'full':>8} {'sampled':>8} "
        f"{'RSS full':>9} {'RSS smpl':>9}" + (f" {'torch':>7} {'ours/torch':>10}" if with_torch else "")
    )
    for spec in specs:
        size = graph_size(spec)
        scenario = spec.scenario(folder)
        full = min((measure(scenario, extra) for _ in range(REPEATS)), key=lambda r: r.check)
        sampled = min(
            (measure(scenario, [*extra, "--sample", str(SAMPLE)]) for _ in range(REPEATS)),
            key=lambda r: r.check,
        )
        line = (
            f"{spec.label:<11} {size['nodes']:>6} {size['params']:>9,} {full.run:>6.2f}s {full.check:>7.2f}s "
            f"{sampled.check:>7.2f}s {full.rss_mib:>6.0f}MiB {sampled.rss_mib:>6.0f}MiB"
        )
        if with_torch:
            family = TORCH_TWIN.get(spec.family, spec.family)
            if (family, spec.args) not in torch_times:
                torch_times[family, spec.args] = measure_torch(Spec(spec.label, family, spec.args))
            peer = torch_times[family, spec.args]
            line += f" {peer:>6.2f}s {full.check / peer:>9.2f}x" if peer else f" {'-':>7} {'-':>10}"
        if spec.family == "mlp":
            builtin[spec.args] = full.check
        if spec.label.startswith("mlp-1224"):
            line += targets(
                spec.label, full, sampled, builtin.get(spec.args) if spec.family != "mlp" else None
            )
        elif spec.family in TORCH_TWIN and spec.args in builtin:
            line += f"  {full.check / builtin[spec.args]:.1f}x built-in"
        if full.code != 0:
            line += f"  (exit {full.code})"
        print(line, flush=True)


def growth(extra: list[str], folder: Path, knobs: list[str] | None = None) -> None:
    for knob, specs in GROWTH.items():
        if knobs and knob.split()[0] not in knobs:
            continue
        sizes, times, rows = [], [], []
        for spec in specs:
            size = graph_size(spec)
            scenario = spec.scenario(folder)
            m = min((measure(scenario, extra) for _ in range(REPEATS)), key=lambda r: r.check)
            x = {"params": size["params"], "batch": spec.args[-1], "nodes": size["nodes"]}.get(
                knob.split()[0], size["leaf"]
            )
            sizes.append(x)
            times.append(m.check)
            rows.append(f"{x:,}: {m.check:.2f}s ({m.check / m.run:.0f}x run, {m.rss_mib:.0f}MiB)")
        print(f"{knob}: exponent {exponent(sizes, times):.2f}  ({BOUNDS[knob.split()[0]]})")
        print("    " + "; ".join(rows), flush=True)


DETECT = {"built-in linear": "mlp_error", "custom_op dense": "mlp_custom", "layer() Dense": "mlp_layer"}
"""The MLP's first layer as each style writes it, with dW1[3, 5] off (``--detect``)."""


def detect(extra: list[str], folder: Path, width: int) -> None:
    """Per style, the smallest error of one element of dW1 (relative to the median |dW1|) that
    ``check`` blames (exit 1), over 10^-1 .. 10^-8; a right net must pass (exit 0) first."""
    print(f"smallest single-element error caught, MLP {width} wide (dW1[3, 5], relative to median |dW1|):")
    for label, family in DETECT.items():
        right = measure(Spec(label, family, (width, 32, 0)).scenario(folder), extra)
        caught = None
        for k in range(1, 9):
            spec = Spec(f"{family}-{k}", family, (width, 32, 10.0**-k))
            found = measure(spec.scenario(folder), extra)
            if found.code != 1:
                break
            caught = 10.0**-k
        smallest = f"{caught:.0e}" if caught else "none of 1e-1..1e-8"
        where = f"right: exit {right.code} in {right.check:.2f}s, {right.rss_mib:.0f}MiB"
        print(f"  {label:<16} {where}; caught down to {smallest}")


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--torch-child"]:
        label, family, *args = argv[1:]
        print(torch_child(Spec(label, family, tuple(int(a) for a in args))))
        return
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M-parameter MLP")
    parser.add_argument("--only", nargs="*", help="graph labels of the table to run")
    parser.add_argument("--no-growth", action="store_true", help="skip the growth exponents")
    parser.add_argument("--growth", nargs="*", help="only these knobs: params, batch, nodes, leaf")
    parser.add_argument("--no-table", action="store_true", help="skip the table")
    parser.add_argument("--detect", action="store_true", help="the smallest single-element error caught")
    args = parser.parse_args(argv)
    if args.detect:
        with tempfile.TemporaryDirectory() as tmp:
            detect(extra, Path(tmp), 548 if args.quick else 1224)
        return
    specs = [s for s in TABLE if not (args.quick and s.label.startswith("mlp-1224"))]
    if args.only:
        specs = [s for s in specs if s.label in args.only]
    with_torch = torch_available()
    peer = "yes" if with_torch else "not importable"
    print(f"check arguments: {' '.join(extra) or '(defaults)'}; torch: {peer}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_table:
            table(specs, extra, Path(tmp), with_torch)
        if not args.no_growth:
            growth(extra, Path(tmp), args.growth)


if __name__ == "__main__":
    main()
