"""The update step and training as a service over the model (README "The update step, and training").

Past the backward pass the stepper asks the trainer for the update step's numbers
(``prepare_update``) and, past the last parameter's update, for the next iteration (``advance``):
the engine's ``Training`` runs it (forward and backward with the updated parameters) and the
loader shows its trace on the first forward step, its check started again. ``train`` runs N more
iterations in a daemon thread (the author's code may hang); ``play`` walks through them one per
tick, keeping the step shown; ``set_optimizer`` changes the learning rate or momentum and drops
the iterations after the one shown, which were taken with the old setting. Any re-run that is not
an iteration (an edit, a reload, a bug switch) starts over from iteration 0 (``Loader.show``).
No Textual here.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.daemon import run_in_daemon
from tui_backprop.app.model.model import Aspect, Model, TrainingState

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine, Optimizer
    from tui_backprop.app.model.loading import Loader
    from tui_backprop.app.model.stepping import Stepper
    from tui_backprop.app.model.tasks import Tasks

MAX_ITERATIONS = 10_000
"""The most iterations one Train asks for (each is a forward and a backward of the graph)."""
SETTING = re.compile(r"^\s*(?:(lr|learning rate|momentum|mu|μ)\s*[= ]?\s*)?([0-9.eE+-]+)\s*$")


class Trainer:
    """Update steps, iterations and training runs of the open scenario."""

    def __init__(self, model: Model, engine: Engine, loader: Loader, tasks: Tasks, stepper: Stepper) -> None:
        """Stepping past the backward pass comes here: the trainer makes itself ``stepper``'s
        ``iterations``."""
        self.model = model
        self.engine = engine
        self.loader = loader
        self.tasks = tasks
        self.stepper = stepper
        stepper.iterations = self

    # ------------------------------------------------------------ the optimizer
    def optimizer(self) -> Optimizer:
        """The optimizer in use: as set, else plain SGD at the scenario's learning rate."""
        model = self.model
        if model.optimizer is None:
            session = model.session
            try:
                model.optimizer = self.engine.optimizer(session.scenario) if session else door.Optimizer()
            except door.TrainingError as exc:  # a LEARNING_RATE that is no learning rate
                model.notify(f"{exc}; using the default", "warning", 5)
                model.optimizer = door.Optimizer()
        return model.optimizer

    def set_optimizer(self, lr: float | None = None, momentum: float | None = None) -> str | None:
        """A new learning rate and/or momentum (None keeps it); why not, or None. Iterations taken
        after the one shown used the old setting: they are dropped."""
        if self.model.training is not None and self.model.training.busy:
            return "training… change the learning rate once it is done"
        old = self.optimizer()
        try:
            new = door.Optimizer(old.lr if lr is None else lr, old.momentum if momentum is None else momentum)
        except door.TrainingError as exc:
            return str(exc)
        model = self.model
        model.optimizer = new
        state, session = model.training, model.session
        if state is not None and session is not None:
            state.run.optimizer = new
            state.run.restart_from(session.iteration)
        if session is not None and session.pending is not None:
            session.pending = self._pending(session.iteration)
        model.notify(new.name, timeout=2)
        model.changed(Aspect.TRAINING | Aspect.STEP)
        return None

    def optimizer_text(self) -> str:
        """The optimizer as one types it: ``lr 0.1``, ``lr 0.05 momentum 0.9``."""
        optimizer = self.optimizer()
        return f"lr {optimizer.lr:g}" + (f" momentum {optimizer.momentum:g}" if optimizer.momentum else "")

    def set_from_text(self, text: str) -> str | None:
        """``0.05``, ``lr 0.05``, ``momentum 0.9``, ``lr 0.05 momentum 0.9``; why not, or None."""
        parts = re.split(r"[,;]|\s+(?=(?:lr|momentum|mu|μ)\b)", text.strip())
        lr: float | None = None
        momentum: float | None = None
        for part in (p for p in parts if p and p.strip()):
            match = SETTING.match(part)
            if match is None:
                return "write a learning rate (0.05), or lr 0.05 momentum 0.9"
            try:
                value = float(match[2])
            except ValueError:
                return f"{match[2]!r} is not a number"
            if (match[1] or "lr") in ("lr", "learning rate"):
                lr = value
            else:
                momentum = value
        if lr is None and momentum is None:
            return "write a learning rate (0.05), or lr 0.05 momentum 0.9"
        return self.set_optimizer(lr, momentum)

    # ------------------------------------------------------------ the update step, iterations
    def ensure(self) -> TrainingState | None:
        """The training run of the open session (iteration 0 its own trace), made on first use;
        None while a training run is adding iterations (said so)."""
        model = self.model
        session = model.session
        if session is None:
            return None
        if model.training is not None and model.training.busy:
            model.notify("training… (the iterations appear when it is done)", timeout=2)
            return None
        if model.training is None:
            values = dict(model.edits.values) if model.edits else {}
            try:
                run = self.engine.training(session.scenario, session.trace, self.optimizer(), values)
            except door.TrainingError as exc:
                model.notify(str(exc), "error", 6)
                return None
            model.training = TrainingState(run)
        return model.training

    def _pending(self, k: int):
        state = self.ensure()
        return state.run.pending_update(k) if state is not None else None

    def prepare_update(self) -> bool:
        """The update step's numbers for the iteration shown (the stepper enters the update phase)."""
        session = self.model.session
        if session is None or not session.params:
            return False
        session.pending = self._pending(session.iteration)
        return session.pending is not None

    def advance(self, direction: int) -> bool:
        """The next iteration from its first forward step (run now if not run yet), or the previous
        one at its last update step; False when there is none that way."""
        model = self.model
        session = model.session
        state = self.ensure()
        if session is None or state is None:
            return False
        k = session.iteration + direction
        if k < 0:
            return False
        if k > state.last:
            if not math.isfinite(state.run.last.loss):
                model.notify("the loss is not finite: there is nothing to learn from", "warning", 4)
                return False
            try:
                state.run.step()  # one forward and backward: as long as an edit's re-run
            except Exception as exc:  # the author's code on the updated parameters
                model.notify(f"the next iteration cannot run: {exc}", "error", 6)
                return False
        if direction > 0:
            self.show(k, 0, None)
        else:
            self.show(k, session.n_steps - 1, len(session.params) - 1 if session.params else None)
        return True

    def show(self, k: int, step: int, update: int | None) -> None:
        """Iteration ``k`` at ``step`` (and update step ``update``), its check started again."""
        state = self.ensure()
        if state is None or not 0 <= k <= state.last:
            return
        try:
            trace = state.run.trace(k)
        except Exception as exc:  # rebuilt by one run: the author's code again
            self.model.notify(f"iteration {k} cannot run: {exc}", "error", 6)
            return
        self.loader.show_iteration(trace, k, step, update)
        session = self.model.session
        if session is not None and update is not None:
            session.pending = self._pending(k)

    def go(self, delta: int) -> None:
        """To another iteration, keeping the step shown (``,`` and ``.``)."""
        session = self.model.session
        state = self.model.training
        if session is None or state is None or state.last == 0:
            self.model.notify("no iterations yet: T trains, or step past the backward pass", timeout=3)
            return
        k = max(0, min(state.last, session.iteration + delta))
        if k != session.iteration:
            self.show(k, session.step, session.update)

    # ------------------------------------------------------------ training runs
    def train_summary(self) -> str | None:
        """What the Train prompt says: from which iteration, with which optimizer; None (said why)
        when there is nothing to train."""
        session = self.model.session
        if session is None:
            return None
        if not session.params:
            self.model.notify(f"{session.scenario.slug} has no parameters (g.param) to train", timeout=4)
            return None
        training = self.model.training
        last = training.last if training is not None else 0
        return (
            f"Iterations to add after iteration {last} ({self.optimizer().name}; l changes it): "
            "forward, backward and an update each. Enter trains."
        )

    def train_typed(self, text: str) -> str | None:
        """Train what was typed (a whole number of iterations) in the background; why not, or None."""
        try:
            n = int(text.strip())
        except ValueError:
            return "a whole number of iterations, e.g. 20"
        if n < 1:
            return "at least 1 iteration"
        self.tasks.spawn(partial(self.train, n), "train")
        return None

    async def train(self, n: int) -> None:
        """``n`` more iterations after the last one, in a daemon thread; then the last is shown at
        the step shown now (the loss curve follows them)."""
        model = self.model
        state = self.ensure()
        session = model.session
        if state is None or session is None:
            return
        if state.playing or model.loading is not None:
            return
        n = max(1, min(MAX_ITERATIONS, n))
        state.busy = True
        model.changed(Aspect.TRAINING)
        try:
            outcome = await run_in_daemon("backprop-train", state.run.run, n)
        finally:
            state.busy = False
        if self.loader.closed or model.training is not state:
            return  # the app closed, or the graph was re-run meanwhile
        if outcome.error is not None:
            model.notify(f"training stopped: {outcome.error}", "error", 6)
        elif not math.isfinite(state.run.last.loss):
            model.notify("the loss is not finite: training stopped there", "warning", 5)
        current = model.session or session
        self.show(state.last, current.step, current.update)
        model.changed(Aspect.TRAINING)

    def play(self) -> bool:
        """Play the iterations run so far, one per tick (again: pause); False when there are none."""
        model = self.model
        state = model.training
        session = model.session
        if state is None or state.last == 0 or session is None:
            return False
        if model.playing:
            self.stop()
            return True
        if session.iteration >= state.last:
            self.show(0, session.step, session.update)
        state.playing = True
        model.playing = True
        model.changed(Aspect.PLAY | Aspect.TRAINING)
        return True

    def tick(self) -> None:
        """One iteration on while training plays (stopping at the last), else one step."""
        state = self.model.training
        session = self.model.session
        if state is None or not state.playing:
            self.stepper.tick()
            return
        if session is None or session.iteration >= state.last:
            self.stop()
            return
        self.show(session.iteration + 1, session.step, session.update)

    def stop(self) -> None:
        model = self.model
        if model.training is not None:
            model.training.playing = False
        if model.playing:
            model.playing = False
            model.changed(Aspect.PLAY | Aspect.TRAINING)
