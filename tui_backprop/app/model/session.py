"""The debugger's state over one trace: where we are, what the check found, where to stop.

Pure Python over the engine's ``Trace`` and ``NodeCheck`` results, with no Textual in sight, so
the stepping rules (continue to the next mismatch, breakpoints, jumping to a pass's start or end,
keeping the place across a reload) are tested without a terminal. The model (``model.py``) holds
one ``Session``; it never computes a gradient, it only reads the trace's prefix states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tui_backprop.app.engine import CheckSettings, NodeCheck, Scenario, Step, Trace, Update

Phase = Literal["forward", "backward", "update"]
FAILING = ("mismatch", "nonfinite", "nondeterministic")


@dataclass(frozen=True)
class RowState:
    """What the node list shows for one node at one step: equal states render equal rows."""

    name: str
    value_known: bool
    received: int
    """Contributions that have reached the node (the output counts its seed dL/dL = 1)."""
    expected: int
    """Contributions the node will receive in all: its gradient is final when received == expected."""
    status: str
    """ok / mismatch / kink / nonfinite / unchecked, ``blame``, or ``pending`` before the check."""
    current: bool
    breakpoint: bool
    phase: Phase = "forward"
    """The session's phase: the narrow node list shows values forward and gradients backward."""


@dataclass
class Session:
    """One loaded scenario: its trace, the check results so far, the cursor and the breakpoints."""

    scenario: Scenario
    bug: str | None
    dtype: str
    trace: Trace
    settings: CheckSettings
    step: int = 0
    checks: dict[str, NodeCheck] = field(default_factory=dict)
    check_complete: bool = False
    check_error: str | None = None
    """Why the check stopped before the end (it then proves nothing about the unchecked nodes)."""
    breakpoints: set[str] = field(default_factory=set)
    show_all: bool = False
    """Show every check result at once (debugging); by default a result waits for its step (README)."""
    params: tuple[str, ...] = ()
    """The parameters an update step moves (the ``g.param`` leaves the output depends on)."""
    update: int | None = None
    """The update phase, after the backward pass (README "The update step, and training"): which
    parameter's step is shown (an index into ``params``); None before it."""
    pending: Update | None = None
    """The update step's numbers, once the update phase has been entered (``train.service``)."""
    iteration: int = 0
    """The training iteration this trace is of (0: the values of the scenario and the edits)."""
    _incomplete: tuple[tuple[int, bool], bool] | None = field(default=None, repr=False, compare=False)
    _rows: dict[tuple, list[RowState]] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ where we are
    @property
    def n_steps(self) -> int:
        return len(self.trace.steps)

    @property
    def current(self) -> Step | None:
        """The step shown; in the update phase, a step of phase ``update`` on its parameter (numbered
        after the trace's own steps: the trace and its JSON never hold update steps)."""
        steps = self.trace.steps
        if self.update is not None and steps:
            return type(steps[0])(self.n_steps + self.update, "update", self.params[self.update])
        return steps[self.step] if steps else None

    @property
    def phase(self) -> Phase:
        current = self.current
        return current.phase if current else "forward"

    @property
    def node_name(self) -> str:
        """The node of the current step (the output when the graph has no op to step through)."""
        current = self.current
        return current.node if current else self.trace.output.name

    @property
    def node_names(self) -> list[str]:
        """The graph's nodes in forward order (a copy: the trace never changes under a session)."""
        return list(self._names)

    @cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.trace.graph.nodes)

    def go(self, step: int) -> bool:
        """Move to ``step`` (clamped), out of the update phase; True when the step changed."""
        target = max(0, min(step, self.n_steps - 1)) if self.n_steps else 0
        changed = target != self.step or self.update is not None
        self.step = target
        self.update = None
        return changed

    # ------------------------------------------------------------ jump targets
    @property
    def forward_start(self) -> int:
        return 0

    @property
    def forward_end(self) -> int:
        return max(0, self.trace.n_forward - 1)

    @property
    def backward_start(self) -> int:
        return min(self.trace.n_forward, max(0, self.n_steps - 1))

    @property
    def backward_end(self) -> int:
        return max(0, self.n_steps - 1)

    def step_of(self, name: str, phase: Phase) -> int | None:
        """The forward or backward step of a node, None for a leaf (it has no step)."""
        index = self.trace.forward_index if phase == "forward" else self.trace.backward_index
        return index.get(name)

    def select_target(self, name: str) -> int | None:
        """Where selecting a node jumps: its step in the current phase; again, its other step."""
        here = self.step_of(name, self.phase)
        if here is None:
            return None
        if here == self.step:
            other = self.step_of(name, "backward" if self.phase == "forward" else "forward")
            return other if other is not None else here
        return here

    def is_stop(self, step: int) -> bool:
        """A breakpoint's node, or a backward step whose node's gradient fails the check."""
        s = self.trace.steps[step]
        if s.node in self.breakpoints:
            return True
        check = self.checks.get(s.node)
        return s.phase == "backward" and check is not None and check.status in FAILING

    def continue_target(self, direction: int = 1) -> int | None:
        """The next (or, reversed, previous) stop; None when there is none that way."""
        steps = range(self.step + 1, self.n_steps) if direction > 0 else range(self.step - 1, -1, -1)
        return next((k for k in steps if self.is_stop(k)), None)

    def toggle_breakpoint(self, name: str) -> bool:
        """Flip the breakpoint on a node; True when it is now set."""
        if name in self.breakpoints:
            self.breakpoints.discard(name)
            return False
        self.breakpoints.add(name)
        return True

    # ------------------------------------------------------------ the check
    def record(self, check: NodeCheck) -> None:
        self.checks[check.name] = check

    @property
    def n_checked(self) -> int:
        return len(self.checks)

    @property
    def failing(self) -> list[str]:
        """Nodes whose gradient mismatches or is non-finite, in graph order."""
        return [n for n in self.node_names if n in self.checks and self.checks[n].status in FAILING]

    @property
    def blamed(self) -> list[str]:
        return [n for n in self.node_names if n in self.checks and self.checks[n].blamed]

    def status_of(self, name: str) -> str:
        """The node's check status as it may be shown now: ``hidden`` until its step is reached.

        The gradient's verdict shows once the gradient is final; an op's own backward rule (blame)
        once its backward step is reached.
        """
        check = self.checks.get(name)
        if check is None:
            return "unchecked" if self.check_complete else "pending"
        if not self.check_shown(name):
            return "hidden"
        own = self.step_of(name, "backward")
        if not self.show_all and own is not None and self.step < own:
            return _covered(check.grad_status, [check.grad] if check.grad is not None else [])
        return "blame" if check.blamed else _covered(check.status, [c for _, c in check.comparisons()])

    def reveal_step(self, name: str) -> int:
        """The step from which the node's check result may be shown: when its gradient is final."""
        trace = self.trace
        index = trace.backward_index
        if name == trace.output.name and name in index:
            return index[name]
        steps = [index[c.name] for c, _ in trace.consumers[name] if c.name in index]
        return max(steps) if steps else max(0, self.n_steps - 1)

    def check_shown(self, name: str) -> bool:
        """May the node's check result be shown at this step (no spoilers, README)?"""
        return self.show_all or self.step >= self.reveal_step(name)

    # ------------------------------------------------------------ what a step reveals
    def expected(self, name: str) -> int:
        """How many contributions make the node's gradient final (the output: its seed)."""
        return self.trace.expected_count(name)

    def received(self, name: str, step: int | None = None) -> int:
        """How many contributions have reached the node by ``step`` (default: now)."""
        if not self.n_steps:
            return 0
        return self.trace.received_count(name, self.step if step is None else step)

    def value_known(self, name: str, step: int | None = None) -> bool:
        return self.trace.value_at(name, self.step if step is None else step) is not None

    def row(self, name: str, phase: Phase | None = None, current: str | None = None) -> RowState:
        return RowState(
            name=name,
            value_known=self.value_known(name),
            received=self.received(name),
            expected=self.expected(name),
            status=self.status_of(name),
            current=name == (current or self.node_name),
            breakpoint=name in self.breakpoints,
            phase=phase or self.phase,
        )

    def rows(self) -> list[RowState]:
        """Every node's row at this step; kept per step and what the check has said, so stepping
        back and forth costs a lookup."""
        key = (
            self.step,
            self.update,
            len(self.checks),
            self.check_complete,
            self.show_all,
            frozenset(self.breakpoints),
        )
        rows = self._rows.get(key)
        if rows is None:
            phase, current = self.phase, self.node_name
            rows = self._rows[key] = [self.row(name, phase, current) for name in self._names]
            if len(self._rows) > 1024:
                self._rows.clear()
        return list(rows)

    def incomplete(self) -> bool:
        """No mismatch, but some element neither compared nor covered (the check's exit code 3);
        worked out once per check result."""
        key = (len(self.checks), self.check_complete)
        if self._incomplete is None or self._incomplete[0] != key:
            self._incomplete = (key, any(c.unchecked() for c in self.checks.values()))
        return self._incomplete[1]

    # ------------------------------------------------------------ reloading
    def place_in(self, new: Session) -> None:
        """Carry the cursor and breakpoints over to a rebuilt trace, where the nodes still exist."""
        names = set(new.node_names)
        new.breakpoints = {b for b in self.breakpoints if b in names}
        current = self.current
        if current is not None:
            step = new.step_of(current.node, current.phase)
            if step is not None:
                new.step = step
                return
        new.go(self.step)


def _covered(status: str, comparisons: list) -> str:
    """``covered`` for an ``ok`` whose elements were partly verified only inside a projection
    (README: never ``✓ ok`` for what was not compared one by one)."""
    return "covered" if status == "ok" and any(c.n_covered for c in comparisons) else status
