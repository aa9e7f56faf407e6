"""The update step and training: what the gradient is *for* (README: "Teaching with it").

After the backward pass every parameter takes one step against its gradient, ``w ← w - lr · dL/dw``
(plain SGD) or, with momentum μ, ``v ← μ·v + dL/dw; w ← w - lr · v``. To first order the loss then
changes by ``Σ ⟨dL/dw, Δw⟩`` (``-lr · Σ‖g‖²`` for SGD): :class:`Update` carries that prediction, and
the next forward gives the actual change, so a class sees the gradient predict the loss, and a wrong
gradient fail to.

:class:`Training` runs N such iterations. It keeps only the parameter values (and momentum) each
iteration ran with, never its trace: any iteration's trace is one ``run`` away (a few kept at hand),
so stepping back through a long run costs no memory.

Parameters are the ``g.param`` leaves the output depends on; their new values are passed to
``trace.run`` as ``leaf_values``, exactly like the app's edits, so the graph is never changed.
Nothing here adds steps to a trace: ``trace --train N`` reports training under its own JSON field.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui_backprop.check.export import array
from tui_backprop.check.export import number as json_number
from tui_backprop.core.graph import Graph, Node
from tui_backprop.core.trace import Trace, run
from tui_backprop.teach.numbers import DIGITS, factor, inline, number, shape_text

Array = np.ndarray
Accuracy = Callable[[Mapping[str, Array]], float]

DEFAULT_LR = 0.1
"""The learning rate when the scenario suggests none (``LEARNING_RATE`` in its module)."""
KEPT_TRACES = 8
"""Traces of recent iterations kept at hand; any other is rebuilt by one run."""


class TrainingError(ValueError):
    """A setting or a scenario hook that training cannot use (the message says why)."""


@dataclass(frozen=True)
class Optimizer:
    """How parameters move: plain SGD (``momentum = 0``) or SGD with momentum μ."""

    lr: float = DEFAULT_LR
    momentum: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise TrainingError(f"the learning rate must be a positive finite number, not {self.lr!r}")
        if not (isinstance(self.momentum, int | float) and 0 <= self.momentum < 1):
            raise TrainingError(f"momentum must be at least 0 and below 1, not {self.momentum!r}")

    @property
    def name(self) -> str:
        return f"SGD, lr {self.lr:g}" + (f", momentum {self.momentum:g}" if self.momentum else "")


@dataclass(frozen=True)
class ParamUpdate:
    """One parameter's step: the numbers of ``w ← w - lr · v`` (``v`` is the gradient for SGD)."""

    name: str
    before: Array
    grad: Array
    velocity: Array
    """The direction stepped along: the gradient (SGD), or ``μ·v + g`` (momentum)."""
    after: Array
    lr: float
    momentum: float

    @property
    def delta(self) -> Array:
        return self.after - self.before

    def line(self, digits: int = DIGITS, inline_up_to: int = 6) -> str:
        """``w0 ← w0 - lr · dL/dw0 = 3 - 0.1 · 0.21 = 2.979``: small tensors written inline, a larger
        one by its shape and norms (``W1 ← W1 - lr · dL/dW1   16×64, ‖dL/dW1‖ = 0.743, ‖Δ‖ = 0.372``)."""
        step = "v" if self.momentum else f"dL/d{self.name}"
        names = f"{self.name} ← {self.name} - lr · {step}"
        if self.before.size > inline_up_to:
            norm, moved = np.linalg.norm(self.velocity), np.linalg.norm(self.delta)
            return (
                f"{names}   {shape_text(self.before.shape)}, lr {number(self.lr, digits)}, "
                f"‖{step}‖ = {number(float(norm), digits)}, ‖Δ{self.name}‖ = {number(float(moved), digits)}"
            )
        if self.before.size == 1:  # a number, whatever its shape (b2 is 1×1): as the circuit writes it
            before, after = number(self.before.item(), digits), number(self.after.item(), digits)
            direction = factor(np.asarray(self.velocity).item(), digits)
        else:
            before, after = inline(self.before, digits), inline(self.after, digits)
            direction = inline(self.velocity, digits)
        head = ""
        if self.momentum:
            head = f"v = {number(self.momentum, digits)} · v + dL/d{self.name};  "
        return f"{head}{names} = {before} - {number(self.lr, digits)} · {direction} = {after}"


@dataclass(frozen=True)
class Update:
    """One update of every parameter, and the change of the loss the gradient predicts."""

    updates: tuple[ParamUpdate, ...]
    loss_before: float
    predicted: float
    """First order: ``Σ ⟨dL/dw, Δw⟩`` over the parameters (``-lr · Σ‖g‖²`` for plain SGD)."""
    values: dict[str, Array]
    """Every parameter's new value: the ``leaf_values`` of the next forward."""
    velocity: dict[str, Array]

    def prediction_line(self, digits: int = DIGITS) -> str:
        """``ΔL ≈ -lr · Σ‖g‖² = -0.1 · 0.1544 = -0.01544`` (momentum: ``Σ ⟨g, Δw⟩``)."""
        if any(u.momentum for u in self.updates):
            return f"ΔL ≈ Σ ⟨g, Δw⟩ = {number(self.predicted, digits)}"
        lr = self.updates[0].lr if self.updates else 0.0
        squared = sum(float(np.sum(np.square(u.grad))) for u in self.updates)
        return f"ΔL ≈ -lr · Σ‖g‖² = -{number(lr, digits)} · {number(squared, digits)} = " + number(
            self.predicted, digits
        )


def parameters(graph: Graph, output: Node) -> list[Node]:
    """The trainable leaves (``g.param``) the output depends on, in graph order."""
    relevant = graph.ancestors(output)
    return [n for n in graph.nodes if n.kind == "param" and n.name in relevant]


def update(trace: Trace, optimizer: Optimizer, velocity: Mapping[str, Array] | None = None) -> Update:
    """One step of every parameter against the gradients of ``trace`` (its own values as the start)."""
    updates = []
    values: dict[str, Array] = {}
    new_velocity: dict[str, Array] = {}
    predicted = 0.0
    for node in parameters(trace.graph, trace.output):
        w = np.asarray(trace.values[node.name], dtype=np.float64)
        g = np.asarray(trace.grads[node.name], dtype=np.float64)
        v = g
        if optimizer.momentum:
            previous = (velocity or {}).get(node.name)
            if previous is not None and previous.shape == g.shape:
                v = optimizer.momentum * previous + g
        after = w - optimizer.lr * v
        # What the run will really use: the graph's dtype rounds the new value (float32).
        after = after.astype(trace.graph.dtype).astype(np.float64)
        values[node.name] = after
        new_velocity[node.name] = v
        with np.errstate(all="ignore"):
            predicted += float(np.sum(g * (after - w)))
        updates.append(ParamUpdate(node.name, w, g, v, after, optimizer.lr, optimizer.momentum))
    return Update(tuple(updates), trace.loss, predicted, values, new_velocity)


# ---------------------------------------------------------------- training
@dataclass(frozen=True)
class Iteration:
    """The state training reached after ``index`` updates (0: the values it started from)."""

    index: int
    values: Mapping[str, Array] = field(repr=False)
    """Every parameter's value at this iteration (plus the leaves edited before training began)."""
    velocity: Mapping[str, Array] = field(repr=False)
    loss: float
    accuracy: float | None
    predicted: float | None
    """The change of the loss the previous update predicted (None for iteration 0)."""

    def actual(self, previous: Iteration) -> float:
        return self.loss - previous.loss


class Training:
    """N iterations of forward, backward and update over one graph, each one steppable back to.

    ``start`` are leaf values to begin from (the app's edits); ``accuracy`` a function of every
    node's value (a scenario's ``accuracy``). ``optimizer`` may be changed between iterations;
    ``restart_from(k)`` drops the iterations after k, to go on from there with another setting.
    """

    def __init__(
        self,
        graph: Graph,
        output: Node,
        optimizer: Optimizer,
        start: Mapping[str, Array] | None = None,
        accuracy: Accuracy | None = None,
        first: Trace | None = None,
    ) -> None:
        self.graph = graph
        self.output = output
        self.optimizer = optimizer
        self.accuracy_of = accuracy
        self._traces: OrderedDict[int, Trace] = OrderedDict()
        base = {k: np.asarray(v, dtype=np.float64) for k, v in (start or {}).items()}
        trace = first if first is not None else run(graph, output, base)
        self.iterations: list[Iteration] = [Iteration(0, base, {}, trace.loss, self._accuracy(trace), None)]
        self._keep(0, trace)

    def __len__(self) -> int:
        return len(self.iterations)

    @property
    def last(self) -> Iteration:
        return self.iterations[-1]

    def trace(self, k: int) -> Trace:
        """The full trace of iteration ``k`` (rebuilt by one run unless kept at hand)."""
        if k in self._traces:
            self._traces.move_to_end(k)
            return self._traces[k]
        trace = run(self.graph, self.output, self.iterations[k].values)
        self._keep(k, trace)
        return trace

    def pending_update(self, k: int | None = None) -> Update:
        """The update iteration ``k`` (default: the last) would take with the current optimizer."""
        k = len(self.iterations) - 1 if k is None else k
        return update(self.trace(k), self.optimizer, self.iterations[k].velocity)

    def step(self) -> Iteration:
        """One more iteration: update the last one's parameters, then forward and backward."""
        last = self.last
        step = self.pending_update()
        values = {**last.values, **step.values}
        trace = run(self.graph, self.output, values)
        iteration = Iteration(
            last.index + 1, values, step.velocity, trace.loss, self._accuracy(trace), step.predicted
        )
        self.iterations.append(iteration)
        self._keep(iteration.index, trace)
        return iteration

    def run(self, n: int) -> list[Iteration]:
        """``n`` more iterations (stopping early at a loss that is not finite: nothing to learn from)."""
        done = []
        for _ in range(n):
            if not math.isfinite(self.last.loss):
                break
            done.append(self.step())
        return done

    def restart_from(self, k: int) -> None:
        """Forget the iterations after ``k`` (to go on from there, e.g. with another learning rate)."""
        del self.iterations[k + 1 :]
        for index in [i for i in self._traces if i > k]:
            del self._traces[index]

    def losses(self) -> list[float]:
        return [it.loss for it in self.iterations]

    def _accuracy(self, trace: Trace) -> float | None:
        if self.accuracy_of is None:
            return None
        try:
            with np.errstate(all="ignore"):
                value = float(self.accuracy_of(trace.values))
        except Exception as exc:  # the scenario's own function: its failure is said, not raised away
            raise TrainingError(f"the scenario's accuracy() failed: {type(exc).__name__}: {exc}") from exc
        return value

    def _keep(self, k: int, trace: Trace) -> None:
        self._traces[k] = trace
        self._traces.move_to_end(k)
        while len(self._traces) > KEPT_TRACES:
            self._traces.popitem(last=False)


# ---------------------------------------------------------------- the scenario's hooks
def scenario_accuracy(module: Any) -> Accuracy | None:
    """The scenario's ``accuracy(values)`` if it has one (README, "Writing a scenario")."""
    fn = getattr(module, "accuracy", None)
    if fn is None:
        return None
    if not callable(fn):
        raise TrainingError(f"accuracy must be a function of the node values, not {type(fn).__name__}")
    return fn


def scenario_learning_rate(module: Any) -> float:
    """The scenario's ``LEARNING_RATE``, else ``DEFAULT_LR``."""
    lr = getattr(module, "LEARNING_RATE", DEFAULT_LR)
    Optimizer(lr)  # refuses what is not a positive finite number, with the message
    return float(lr)


def summary(training: Training) -> list[dict[str, Any]]:
    """Per iteration: loss, accuracy, the predicted and the actual change (the JSON ``training`` rows)."""
    rows = []
    for k, it in enumerate(training.iterations):
        actual = it.actual(training.iterations[k - 1]) if k else None
        rows.append(
            {
                "index": it.index,
                "loss": it.loss,
                "accuracy": it.accuracy,
                "predicted_change": it.predicted,
                "actual_change": actual,
            }
        )
    return rows


def training_json(training: Training) -> dict[str, Any]:
    """The ``training`` object of ``trace --train N`` (README, "Command line"): the optimizer, the
    first update step with its numbers, and one row per iteration."""
    first = training.pending_update(0)

    def maybe(x: float | None) -> Any:
        return None if x is None else json_number(x)

    return {
        "optimizer": {
            "method": "momentum" if training.optimizer.momentum else "sgd",
            "lr": training.optimizer.lr,
            "momentum": training.optimizer.momentum,
        },
        "update": [
            {
                "param": u.name,
                "value": array(u.before),
                "grad": array(u.grad),
                "step": array(u.velocity),
                "new_value": array(u.after),
            }
            for u in first.updates
        ],
        "predicted_change": json_number(first.predicted),
        "iterations": [
            {k: maybe(v) if k != "index" else v for k, v in row.items()} for row in summary(training)
        ],
    }
