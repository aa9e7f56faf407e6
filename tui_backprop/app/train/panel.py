"""The training panel: the loss curve of the iterations run so far, under the stepping view.

It appears once there is an iteration beyond the trace itself (``T`` trained, or ``n`` stepped past
the update phase) and marks the iteration shown; the circuit and the inspector above show that
iteration's trace. It watches the model and draws itself for its size (``words.curve_lines``).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching


class TrainingPanel(Watching, Widget):
    """The loss per iteration, the one shown marked; hidden until there are iterations."""

    WATCHES = Aspect.SESSION | Aspect.STEP | Aspect.TRAINING | Aspect.DISPLAY | Aspect.PLAY

    def __init__(self, model: Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model

    def model_changed(self, touched: Aspect) -> None:
        training = self.model.training
        shown = training is not None and (training.last > 0 or training.busy)
        if shown or self.display:  # hidden and staying so: nothing to draw
            self.display = shown
            self.refresh()

    def render(self) -> Text:
        from tui_backprop.app.train.words import curve_lines

        training = self.model.training
        session = self.model.session
        if training is None or session is None:
            return Text()
        width, height = self.content_size
        output = session.trace.output.name
        reached = session.trace.value_at(output, session.step) is not None or session.update is not None
        lines = curve_lines(training.run, session.iteration, width, height, training.busy, reached)
        return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
