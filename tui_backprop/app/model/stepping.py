"""Moving through the trace: stepping, continuing, jumping, breakpoints, peeking and playing.

``Stepper`` changes the model's step and the node looked at, and says why not when it cannot
(``notify``). Past the backward pass ``n`` enters the update phase, one step per parameter, and
past the last update the next iteration's forward pass; ``p`` walks back the same way (README
"The update step, and training"). The numbers of an update and the iterations are the trainer's
(``Iterations``). Playing is a state in the model (``playing``, ``pace``); the App keeps the timer
that calls ``tick``. No Textual here.
"""

from __future__ import annotations

from typing import Protocol

from tui_backprop.app.model.model import PACES, Aspect, Model


class Iterations(Protocol):
    """What stepping past the backward pass needs (``train.service.Trainer``)."""

    def prepare_update(self) -> bool:
        """Work out the update step's numbers; False when it cannot be taken (said why)."""
        ...

    def advance(self, direction: int) -> bool:
        """Show the next (previous) iteration; False when there is none that way."""
        ...


class Stepper:
    """The stepping keys' work, over a ``Model``."""

    def __init__(self, model: Model, iterations: Iterations | None = None) -> None:
        self.model = model
        self.iterations = iterations
        """The trainer, once there is one: without it the trace ends with its backward pass."""

    # ------------------------------------------------------------ moving around
    def go(self, step: int) -> bool:
        """Move to a step; the views go back to the step's node. True when the step changed."""
        model = self.model
        session = model.session
        if session is None:
            return False
        changed = session.go(step)
        if changed or model.inspected is not None:
            model.inspected = None
            model.changed(Aspect.STEP | Aspect.FOCUS)
        return changed

    def step(self, delta: int) -> None:
        """One step on (or back), into the update phase and on to the next iteration."""
        session = self.model.session
        if session is None:
            return
        at_end = session.step >= session.n_steps - 1
        if delta > 0 and (session.update is not None or at_end):
            self._update_step(1)
        elif delta < 0 and session.update is not None:
            self._update_step(-1)
        elif delta < 0 and session.step == 0 and session.iteration > 0 and self.iterations is not None:
            self.iterations.advance(-1)  # back to the previous iteration's last update
        else:
            self.go(session.step + delta)

    def _update_step(self, direction: int) -> None:
        model = self.model
        session = model.session
        iterations = self.iterations
        if session is None or iterations is None or not session.params:
            if direction > 0:
                self.go(session.step + 1 if session is not None else 0)
            return
        update = session.update
        if direction > 0:
            after = 0 if update is None else update + 1
            if after >= len(session.params):
                iterations.advance(1)
                return
            if update is None and not iterations.prepare_update():
                return
        else:
            after = None if not update else update - 1
        session.update = after
        model.inspected = None
        model.changed(Aspect.STEP | Aspect.FOCUS)

    def continue_run(self, direction: int) -> None:
        """To the next (or previous) breakpoint or failing gradient; the end (start) if none."""
        session = self.model.session
        if session is None:
            return
        target = session.continue_target(direction)
        if target is None:
            pending = "" if session.check_complete else " (the check is still running)"
            where = "end" if direction > 0 else "start"
            self.model.notify(f"no breakpoint or mismatch before the {where}{pending}", timeout=3)
            target = session.backward_end if direction > 0 else session.forward_start
        self.go(target)

    def jump(self, where: str) -> None:
        """To the start or end of a pass (``forward_start`` ... ``backward_end``)."""
        session = self.model.session
        if session is None:
            return
        targets = {
            "forward_start": session.forward_start,
            "forward_end": session.forward_end,
            "backward_start": session.backward_start,
            "backward_end": session.backward_end,
        }
        if where in targets:
            self.go(targets[where])

    def toggle_breakpoint(self) -> None:
        """On the node looked at; a leaf has no step to stop at."""
        model = self.model
        session = model.session
        if session is None:
            return
        name = model.looked_at or session.node_name
        if session.step_of(name, "forward") is None:
            model.notify(f"{name} is a leaf: it has no step to stop at", timeout=3)
            return
        on = session.toggle_breakpoint(name)
        model.notify(f"breakpoint {'set on' if on else 'cleared from'} {name}", timeout=2)
        model.changed(Aspect.MARKS)

    def peek(self, name: str) -> None:
        """Look at a node at the current step, without stepping."""
        model = self.model
        if model.session is None:
            return
        inspected = None if name == model.session.node_name else name
        if inspected != model.inspected:
            model.inspected = inspected
            model.changed(Aspect.FOCUS)

    def select(self, name: str) -> None:
        """Jump to the node's step in this phase (again: the other phase); a leaf is peeked at."""
        session = self.model.session
        if session is None:
            return
        target = session.select_target(name)
        if target is None:
            self.peek(name)
            return
        self.go(target)

    # ------------------------------------------------------------ playing
    def play(self) -> None:
        """Start playing (from the start when at the end), or pause."""
        model = self.model
        if model.playing:
            self.stop()
            return
        session = model.session
        if session is None:
            return
        if session.step >= session.n_steps - 1:
            self.go(0)
        model.playing = True
        model.changed(Aspect.PLAY)

    def pace(self, delta: int) -> None:
        model = self.model
        model.pace = max(0, min(len(PACES) - 1, model.pace + delta))
        model.notify(f"{PACES[model.pace]:g} s per step", timeout=1.5)
        model.changed(Aspect.PLAY)

    def tick(self) -> None:
        """One step of playing; stops at the end and at a breakpoint."""
        model = self.model
        session = model.session
        if not model.playing:
            return
        if session is None or session.step >= session.n_steps - 1:
            self.stop()
            return
        self.go(session.step + 1)
        current = session.current
        if current is not None and current.node in session.breakpoints:
            self.stop()

    def stop(self) -> None:
        if self.model.training is not None:
            self.model.training.playing = False
        if self.model.playing:
            self.model.playing = False
            self.model.changed(Aspect.PLAY)
