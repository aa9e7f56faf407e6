"""One tensor whose numeric gradient the check needs: what every estimator is handed (see choose).

A ``GlobalJob`` asks for dL/dnode (the global check), a ``LocalJob`` for d⟨u, op(x)⟩/dx_position
(the local check of one input). The chooser reads a job to pick a ``Method``; the estimator of
that method reads the same job to produce the comparison. Derived quantities (the inputs' values,
the probed indices, the work a direct probe would cost) are worked out once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tui_backprop.check import budget, reprobe
from tui_backprop.check.colouring import Found
from tui_backprop.check.probing import Estimate
from tui_backprop.check.refine import second_look
from tui_backprop.check.results import NodeCheck
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import Comparison, Method
from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Trace

Array = np.ndarray


@dataclass
class GlobalJob:
    """dL/dnode against its numeric estimate. ``done`` holds the checks of the nodes downstream
    (made already), ``estimates`` their numeric gradients in full, ``reach`` what a direct probe
    of each node re-runs (batchprobe.downstream_reach)."""

    trace: Trace
    node: Node
    settings: CheckSettings
    reach: dict[str, tuple[int, int, int]]
    estimates: dict[str, Estimate]
    relevant: set[str]
    colourings: Found
    done: dict[str, NodeCheck]
    pulled: dict[tuple[str, int], Estimate] = field(default_factory=dict)
    """Estimates carried back through an author's rule, per (consumer, input): the rule runs once
    for all its inputs (pullback.through_rule)."""
    method: Method = "none"
    """The method chosen last (set by choose.estimate_global)."""
    refused: set[Method] = field(default_factory=set)
    """Methods whose estimator declined this tensor: not chosen again."""

    @property
    def analytic(self) -> Array:
        return self.trace.grads[self.node.name]

    def second_look(self, c: Comparison) -> Comparison:
        """Suspect elements probed again on their own (refine). Below a blamed node a global
        mismatch is inherited: there only NaN probes are looked at again."""
        if not (c.n_mismatch or c.n_unjudged):  # (asked only then: each costs a walk downstream)
            return c
        trace, node = self.trace, self.node
        downstream = trace.graph.downstream(node, trace.output)
        inherited = any(self.done[m.name].blamed for m in downstream if m.name in self.done)
        evaluate = reprobe.global_evaluator(trace, node)
        base = trace.values[node.name]
        return second_look(
            c, evaluate, self.settings, trace.graph.dtype, not inherited, base, below_noise=True
        )


@dataclass
class LocalJob:
    """What the node sends its input ``position`` for ``upstream`` (``contribution``), against
    d⟨upstream, op(x)⟩/dx_position; ``small``: the op's Jacobian is also compared (result)."""

    trace: Trace
    node: Node
    settings: CheckSettings
    result: NodeCheck
    position: int
    small: bool
    upstream: Array
    contribution: Array
    colourings: Found
    method: Method = "none"
    """The method chosen last (set by choose.estimate_local)."""
    refused: set[Method] = field(default_factory=set)

    @cached_property
    def xs(self) -> list[Array]:
        return [self.trace.values[p.name] for p in self.node.inputs]

    @property
    def x(self) -> Array:
        return self.xs[self.position]

    @property
    def out(self) -> Array:
        return self.trace.values[self.node.name]

    @cached_property
    def u(self) -> Array:
        """The upstream, flat, in float64."""
        return self.upstream.astype(np.float64).reshape(-1)

    @cached_property
    def indices(self) -> Array:
        """The input's elements compared (all of them unless ``--sample``; all for a small op)."""
        if self.small:
            return np.arange(self.x.size)
        return budget.probe_indices(self.node, self.x.size, self.settings)

    @property
    def direct_work(self) -> int:
        """Element evaluations of probing every compared element: each probe reruns the op and
        starts from a row of the input's size."""
        compared = (
            self.x.size
            if self.small or self.settings.sample is None
            else min(self.x.size, self.settings.sample)
        )
        return compared * (self.out.size + self.x.size)  # (not len(indices): 6 MB for a layer's weights)

    def second_look(self, c: Comparison) -> Comparison:
        evaluate = reprobe.local_evaluator(self.trace, self.node, self.position, self.upstream)
        return second_look(c, evaluate, self.settings, self.x.dtype, base=self.x)
