"""The lecture hall's actions: circuit view, presenter mode, digits, spoilers (README: "Teaching with it").

``TeachingMixin`` is part of ``BackpropApp``. The circuit's layout is computed once per graph and
digits setting and kept here; ``refresh_teaching`` (called at the end of every ``refresh_view``)
hands the circuit and the presenter card the labels of the current step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui_backprop.app import digits as display

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui_backprop.app.circuit_layout import Layout
    from tui_backprop.app.session import Session


class TeachingMixin:
    """Circuit view on ``g``, presenter mode on ``P``, digits on ``<`` ``>``, all checks on ``A``."""

    session: Session | None
    inspected: str | None
    note: str | None
    """A bookmark's note (lessons.py), shown on the presenter card."""
    circuit_on: bool = False
    show_all_checks: bool = False
    _circuit_key: tuple | None = None
    _circuit_layout: Layout | None = None

    if TYPE_CHECKING:  # provided by the app

        @property
        def debugger(self) -> Screen: ...

        @property
        def screen(self) -> Screen: ...

        def notify(self, message: str, **kwargs: Any) -> None: ...

        def refresh_view(self) -> None: ...

        def push_screen(self, screen: Any, **kwargs: Any) -> Any: ...

        def _show_rows(self) -> None: ...

        def quiz_on_circuit(self, state: Any) -> Any: ...

    def on_unmount(self) -> None:
        """The digits setting lasts while the app runs; the next app (or test) starts from the default."""
        display.set_digits(display.DIGITS)

    # ------------------------------------------------------------ the circuit view
    def action_toggle_circuit(self) -> None:
        """Show the graph as a circuit above the inspector (again: back to the node list)."""
        self.set_circuit(not self.circuit_on)

    def set_circuit(self, on: bool) -> None:
        from tui_backprop.app.circuit import CircuitView

        self.circuit_on = on
        debugger = self.debugger
        debugger.set_class(on, "-circuit")
        circuit = debugger.query_one(CircuitView)
        if on:
            circuit.focus()
        else:
            from tui_backprop.app.widgets import NodeList

            debugger.query_one(NodeList).focus()
        self.refresh_view()

    def circuit_layout(self, session: Session) -> Layout:
        """The session's circuit geometry, computed once per graph and digits setting."""
        from tui_backprop.app import circuit_labels as cl
        from tui_backprop.app.circuit_layout import layout

        key = (id(session.trace), display.digits())
        if key != self._circuit_key or self._circuit_layout is None:
            self._circuit_layout = layout(cl.specs(session), cl.label_widths(session))
            self._circuit_key = key
        return self._circuit_layout

    def refresh_teaching(self) -> None:
        """Bring the circuit (when shown) and the presenter card (when open) up to the step."""
        session = self.session
        if session is None:
            return
        if self.circuit_on:
            from tui_backprop.app import circuit_labels as cl
            from tui_backprop.app.circuit import CircuitView

            circuit = self.debugger.query_one(CircuitView)
            layout = self.circuit_layout(session)
            if circuit.layout_ is not layout:
                circuit.show(layout)
            circuit.update(self.quiz_on_circuit(cl.state(session, list(layout.gates), self.inspected)))
        from tui_backprop.app.presenter import PresenterScreen

        if isinstance(self.screen, PresenterScreen):
            self.screen.show(session)
            self.screen.show_note(self.note)

    # ------------------------------------------------------------ presenter mode
    def action_presenter(self) -> None:
        """The current step as one large, high-contrast card; Escape (or P) returns."""
        from tui_backprop.app.presenter import PresenterScreen

        if isinstance(self.screen, PresenterScreen):
            self.screen.dismiss(None)
            return
        if self.session is None:
            return
        self.push_screen(PresenterScreen())
        self.refresh_view()

    # ------------------------------------------------------------ digits and spoilers
    def action_digits(self, delta: int) -> None:
        """Show more (or fewer) significant digits everywhere, 3 to 17."""
        before = display.digits()
        now = display.set_digits(before + delta)
        if now != before:
            self.redraw_numbers()
        self.notify(f"{now} significant digits", timeout=1.5)

    def set_digits(self, digits: int) -> None:
        display.set_digits(digits)
        self.redraw_numbers()

    def action_toggle_spoilers(self) -> None:
        """Show every check result at once (for debugging) or only once its step is reached."""
        self.show_all_checks = not self.show_all_checks
        if self.session is not None:
            self.session.show_all = self.show_all_checks
        self.redraw_numbers()
        shown = (
            "every check result shown"
            if self.show_all_checks
            else "check results shown as their steps are reached"
        )
        self.notify(shown, timeout=2)

    def redraw_numbers(self) -> None:
        """Numbers or what may be shown changed: drop every cached rendering and draw again."""
        cache = getattr(self, "_inspector_cache", None)
        if cache is not None:
            cache.clear()
        if self.session is not None:
            self._show_rows()
        self.refresh_view()
