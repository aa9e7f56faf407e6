"""The inspector panel: the node looked at, at the current step, as ``text.py`` writes it.

It watches the model and keeps its own cache of laid-out texts (by session, node, step, width and
what the check has revealed), so stepping back and forth costs a lookup. Until a trace is there it
says what is loading, without importing numpy (the first frame must not wait for the engine).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text

from tui_backprop.app.inspector.text_view import TextView
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from tui_backprop.app.model.session import Session

CHAIN_RULE = "backward through"
"""The heading of the chain rule at a node's backward step (``text.py``)."""
SHOWN_BELOW = 6
"""Lines of it that must show under the header, else the panel starts at the heading."""
CACHED = 256
"""Laid-out inspector texts kept (each a node at a step at a width)."""


class Inspector(Watching, TextView):
    """The node looked at, in reading order; scrolls when it is taller than the panel."""

    WATCHES = (
        Aspect.SESSION
        | Aspect.STEP
        | Aspect.FOCUS
        | Aspect.CHECK
        | Aspect.DISPLAY
        | Aspect.LOADING
        | Aspect.ELEMENT
    )
    DRAWN = Aspect.SESSION | Aspect.STEP | Aspect.FOCUS | Aspect.CHECK | Aspect.DISPLAY | Aspect.ELEMENT

    def __init__(self, model: Model, **kwargs: Any) -> None:
        super().__init__(Text("starting…", style="italic"), **kwargs)
        self.model = model
        self._texts: OrderedDict[tuple, Text] = OrderedDict()
        self._started_for: tuple | None = None
        """The (session, node, step) the panel last chose where to start for."""

    def model_changed(self, touched: Aspect) -> None:
        model = self.model
        session = model.session
        if touched & (Aspect.SESSION | Aspect.DISPLAY):
            self._texts.clear()
            self.forget()
        if session is None:
            self.set_text(self._placeholder())
            return
        if not touched & self.DRAWN:
            return
        name = model.looked_at or session.node_name
        chosen = tuple(sorted(model.chosen.items()))  # another element keeps the reader's place
        key = (id(session), name, session.step, session.update)
        self.set_content(partial(self._laid_out, session, name, chosen), key)
        if key != self._started_for:
            self._started_for = key
            self.start_at_the_chain_rule(session, name)

    def start_at_the_chain_rule(self, session: Session, name: str) -> None:
        """At a node's own backward step the chain rule is what the step is about: when the panel
        is too short to show it under the header (80x24, the circuit above), start there."""
        if session.phase != "backward" or name != session.node_name:
            return
        height = self.scrollable_content_region.height
        lines = self.plain.split("\n")
        at = next((i for i, line in enumerate(lines) if line.startswith(CHAIN_RULE)), None)
        if at is None or height <= 0 or at + SHOWN_BELOW <= height:
            return
        self.scroll_to(y=at, animate=False, immediate=True)

    def _placeholder(self) -> Text:
        text = Text()
        loading = self.model.loading
        if loading is not None:
            text.append(f"loading {loading.spec}…", style="italic")
        else:
            text.append("No scenario open. ", style="bold")
            text.append("Press o to pick one, ? for help, q to quit.")
        return text

    def _laid_out(self, session: Session, name: str, chosen: tuple, width: int) -> Text:
        """The inspector for ``name`` at the session's current step, laid out for ``width``; cached
        (``chosen``: the elements followed, part of the key)."""
        from tui_backprop.app.inspector.text import inspector

        width = width if width > 0 else 60
        key = (
            id(session),
            name,
            session.step,
            width,
            session.n_checked,
            session.check_complete,
            session.show_all,
            chosen,
            session.update,
            id(session.pending),
        )
        text = self._texts.get(key)
        if text is None:
            run = self.model.training.run if self.model.training is not None else None
            text = self._texts[key] = inspector(session, name, width, self.model.focus(), run)
            if len(self._texts) > CACHED:
                self._texts.popitem(last=False)
        return text
