"""Moving through the trace: stepping, continuing, jumping, breakpoints, peeking and playing.

``SteppingMixin`` is part of ``BackpropApp``; every move goes through ``go`` (or the session's
own ``go``) and ends in one ``refresh_view``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.timer import Timer

if TYPE_CHECKING:
    from tui_backprop.app.session import Session

PACES = (0.25, 0.5, 1.0, 2.0)
"""Seconds per step while playing."""


class SteppingMixin:
    """The stepping keys' actions and the play timer."""

    session: Session | None
    inspected: str | None
    playing: Timer | None
    pace: int

    # ------------------------------------------------------------ moving around
    def go(self, step: int) -> bool:
        """Move to a step and repaint; the list cursor goes back to the step's node."""
        session = self.session
        if session is None:
            return False
        changed = session.go(step)
        if changed or self.inspected is not None:
            self.inspected = None
            self.refresh_view()
        return changed

    def action_step(self, delta: int) -> None:
        if self.session is not None:
            self.go(self.session.step + delta)

    def action_continue_run(self, direction: int) -> None:
        session = self.session
        if session is None:
            return
        target = session.continue_target(direction)
        if target is None:
            pending = "" if session.check_complete else " (the check is still running)"
            where = "end" if direction > 0 else "start"
            self.notify(f"no breakpoint or mismatch before the {where}{pending}", timeout=3)
            target = session.backward_end if direction > 0 else session.forward_start
        self.go(target)

    def action_jump(self, where: str) -> None:
        if self.session is not None and where in (
            "forward_start",
            "forward_end",
            "backward_start",
            "backward_end",
        ):
            self.go(getattr(self.session, where))

    def action_toggle_breakpoint(self) -> None:
        session = self.session
        if session is None:
            return
        name = self.inspected or session.node_name
        if session.step_of(name, "forward") is None:
            self.notify(f"{name} is a leaf: it has no step to stop at", timeout=3)
            return
        on = session.toggle_breakpoint(name)
        self.notify(f"breakpoint {'set on' if on else 'cleared from'} {name}", timeout=2)
        self.refresh_view()

    def peek(self, name: str) -> None:
        """The list cursor moved: show that node at the current step, without stepping."""
        session = self.session
        if session is None:
            return
        self.inspected = None if name == session.node_name else name
        self.refresh_view()

    def select_node(self, name: str) -> None:
        """Jump to the node's step in this phase (again: the other phase); leaves are peeked at."""
        session = self.session
        if session is None:
            return
        target = session.select_target(name)
        if target is None:
            self.peek(name)
            return
        session.go(target)
        self.inspected = None
        self.refresh_view()

    # ------------------------------------------------------------ playing
    def action_play(self) -> None:
        if self.playing is not None:
            self._stop_playing()
        elif self.session is not None:
            if self.session.step >= self.session.n_steps - 1:
                self.go(0)
            self.playing = self.set_interval(PACES[self.pace], self._tick)
        self.refresh_view()

    def action_pace(self, delta: int) -> None:
        self.pace = max(0, min(len(PACES) - 1, self.pace + delta))
        if self.playing is not None:
            self.playing.stop()
            self.playing = self.set_interval(PACES[self.pace], self._tick)
        self.notify(f"{PACES[self.pace]:g} s per step", timeout=1.5)
        self.refresh_view()

    def _tick(self) -> None:
        session = self.session
        if self.playing is None:
            return
        if session is None or session.step >= session.n_steps - 1:
            self._stop_playing()
            self.refresh_view()
            return
        self.go(session.step + 1)
        current = session.current
        if current is not None and current.node in session.breakpoints:
            self._stop_playing()
            self.refresh_view()

    def _stop_playing(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None
