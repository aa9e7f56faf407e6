"""What the numeric check says, per node and in all (what it is asked: settings.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tui_backprop.check.settings import DEFAULTS, CheckSettings  # noqa: F401 - re-exported
from tui_backprop.check.verdict import Comparison, Status
from tui_backprop.core.trace import BackwardFailure, Trace

Array = np.ndarray


def not_sampled(sample: int | None) -> str:
    return f"not sampled (--sample {sample})" if sample is not None else "not sampled"


def unchecked_reasons(c: Comparison, sample: int | None = None) -> dict[str, int]:
    """The comparison's elements neither compared nor covered: reason -> count."""
    counts = dict(c.reasons)
    left_out = c.n_not_sampled
    if left_out:
        counts[not_sampled(sample)] = left_out
    return counts


@dataclass
class NodeCheck:
    name: str
    status: Status
    """The worst of the global and the local status: what the node list shows."""
    grad: Comparison | None
    local: dict[int, Comparison] = field(default_factory=dict)
    local_status: Status | None = None
    numeric_jacobians: dict[int, Array] = field(default_factory=dict)
    jacobian_checks: dict[int, Comparison] = field(default_factory=dict)
    """Small ops: the local Jacobian built from the backward rule against its numeric estimate,
    entry by entry (rows: output elements, columns: input elements)."""
    note: str = ""
    failure: BackwardFailure | None = None
    probe_error: str = ""
    judged_in: str = ""
    """The dtype its backward rule was judged in: float32 rules against float64 where the op's code
    allows it, and why not where it does not (README, "How the check works")."""
    float32_digits: float | None = None
    """float32 rules judged in float64: the significant digits float32 keeps of what it sends."""
    diagnosis: dict[int, str] = field(default_factory=dict)
    """Blamed nodes: per input position, what the mismatch looks like in words (diagnosis.py)."""
    """The op's own code broke its declaration while probed (elementwise=True, kink=): blamed."""

    def comparisons(self) -> list[tuple[str, Comparison]]:
        """Every comparison of the node, each with what it compares: ``dL/dNAME``, or ``input i``."""
        found = [(f"dL/d{self.name}", self.grad)] if self.grad is not None else []
        return found + [(f"input {i}", c) for i, c in self.local.items()]

    def unchecked(self, sample: int | None = None) -> dict[str, int]:
        """Elements neither compared nor covered, over every comparison: reason -> count. Those
        left out by ``--sample`` are counted under ``not sampled``."""
        counts: dict[str, int] = {}
        for _, c in self.comparisons():
            for reason, count in unchecked_reasons(c, sample).items():
                counts[reason] = counts.get(reason, 0) + count
        return counts

    @property
    def grad_status(self) -> Status:
        return self.grad.status if self.grad is not None else self.status

    @property
    def blamed(self) -> bool:
        """Its own backward rule is wrong: it disagrees with finite differences, or it sends a
        NaN or an infinity for a finite upstream gradient and finite inputs."""
        return self.local_status in ("mismatch", "nonfinite")


@dataclass
class Check:
    trace: Trace
    settings: CheckSettings
    nodes: dict[str, NodeCheck]
    global_judged_in: str = ""
    """A float32 trace: the dtype its global check probed the loss in (``float64`` where the code
    runs in float64, else why not; see wide.py)."""

    @property
    def blame(self) -> list[str]:
        return [n.name for n in self.trace.graph.nodes if n.name in self.nodes and self.nodes[n.name].blamed]

    @property
    def failed(self) -> bool:
        """A mismatch, a non-finite value or a forward that is not deterministic: exit code 1."""
        return any(c.status in ("mismatch", "nonfinite", "nondeterministic") for c in self.nodes.values())

    @property
    def incomplete(self) -> bool:
        """No failure, but some element neither compared nor covered: exit code 3 (README)."""
        return not self.failed and any(
            c.n_unchecked for nc in self.nodes.values() for _, c in nc.comparisons()
        )

    def unchecked(self) -> dict[str, dict[str, int]]:
        """Per node with elements left unchecked: reason -> count (see ``NodeCheck.unchecked``)."""
        found = {}
        for node in self.trace.graph.nodes:
            nc = self.nodes.get(node.name)
            counts = nc.unchecked(self.settings.sample) if nc is not None else {}
            if counts:
                found[node.name] = counts
        return found

    @property
    def verdict(self) -> str:
        """``fail``, ``incomplete`` or ``pass``: the JSON ``status`` and the exit code (README)."""
        if self.failed:
            return "fail"
        return "incomplete" if self.incomplete else "pass"

    @property
    def n_unjudged(self) -> int:
        """Elements probed that could not be judged, over every comparison (README)."""
        return sum(
            c.n_unjudged
            for nc in self.nodes.values()
            for c in ([nc.grad] if nc.grad is not None else []) + list(nc.local.values())
        )

    def count(self, status: Status) -> int:
        return sum(1 for c in self.nodes.values() if c.status == status)
