"""What the numeric check is asked (``CheckSettings``) and what it says, per node and in all."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tui_backprop.check.verdict import Comparison, Status
from tui_backprop.core.trace import BackwardFailure, Trace

Array = np.ndarray

DEFAULTS: dict[str, dict[str, float]] = {
    "float64": {"eps": 1e-6, "rtol": 1e-5, "atol": 1e-8},
    "float32": {"eps": 1e-3, "rtol": 1e-2, "atol": 1e-4},
}


@dataclass(frozen=True)
class CheckSettings:
    eps: float
    rtol: float
    atol: float
    sample: int | None = None
    """Probe at most this many seeded random elements per tensor (None: every element)."""
    seed: int = 0
    exhaustive: bool = False
    """Per element everywhere: never verify a large tensor by random projections only."""
    lean: bool = False
    """Keep per-element arrays only where something is to be shown (a mismatch, a kink, an
    element not judged): what the text output of ``check`` needs, in bounded memory."""

    @classmethod
    def for_dtype(
        cls,
        dtype: str,
        eps: float | None = None,
        rtol: float | None = None,
        atol: float | None = None,
        sample: int | None = None,
        seed: int = 0,
        exhaustive: bool = False,
        lean: bool = False,
    ) -> CheckSettings:
        """The dtype's defaults, with any of them overridden."""
        base = DEFAULTS[dtype]
        return cls(
            eps=base["eps"] if eps is None else eps,
            rtol=base["rtol"] if rtol is None else rtol,
            atol=base["atol"] if atol is None else atol,
            sample=sample,
            seed=seed,
            exhaustive=exhaustive,
            lean=lean,
        )


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
    diagnosis: dict[int, str] = field(default_factory=dict)
    """Blamed nodes: per input position, what the mismatch looks like in words (diagnosis.py)."""
    """The op's own code broke its declaration while probed (elementwise=True, kink=): blamed."""

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

    @property
    def blame(self) -> list[str]:
        return [n.name for n in self.trace.graph.nodes if n.name in self.nodes and self.nodes[n.name].blamed]

    @property
    def failed(self) -> bool:
        """A mismatch, a non-finite value or a forward that is not deterministic: exit code 1."""
        return any(c.status in ("mismatch", "nonfinite", "nondeterministic") for c in self.nodes.values())

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
