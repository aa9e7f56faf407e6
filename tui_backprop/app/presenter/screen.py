"""Presenter mode: the current step as one large card, readable from the back of a room.

No header, footer or status details: the step's node and formula with numbers, its value, the
upstream gradient, each local derivative written out and what is sent on, the main numbers in
large digits, white and yellow on black (projectors wash colours out). The stepping keys work
here too. The card is one Line API widget that watches the model: a step writes its lines again
(``card.py`` says what they are) and repaints it, with no layout of the screen; each step's lines
are kept, so stepping back costs a lookup. It never imports the app.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.renderables.digits import Digits
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app import keys
from tui_backprop.app.finished_lines import FinishedLines
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.screens.dialog import AnswersOnce
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui_backprop.app.circuit.labels import Plan
    from tui_backprop.app.circuit.layout import Layout
    from tui_backprop.app.engine import ElementPath, Question
    from tui_backprop.app.model.session import Session
    from tui_backprop.app.presenter.card import Card, Number

    Asked = Callable[[], Question | None]

PADDING = 2
"""Cells left and right of the card."""
GAP = 4
"""Cells after each large number."""
KEYS = "n next · p previous · c continue · < > digits · Esc back"
QUIZ_KEYS = "n shows the answer · p previous · < > digits · Esc back"
CACHED = 128
FLAT_BELOW = 32
"""A card shorter than this writes the circuit's small matrices on one line."""


class PresenterCard(Watching, FinishedLines, Widget):
    """The card, drawn a line at a time; its colours are the ``card--`` rules of ``app.tcss``."""

    WATCHES = (
        Aspect.SESSION
        | Aspect.STEP
        | Aspect.CHECK
        | Aspect.DISPLAY
        | Aspect.MARKS
        | Aspect.ELEMENT
        | Aspect.QUIZ
    )
    COMPONENT_CLASSES: ClassVar[set[str]] = {"card--label", "card--value", "card--grad", "card--formula"}

    def __init__(self, model: Model, question: Asked | None = None, **kwargs) -> None:
        """``question``: in quiz mode, the question the card hides the answer of (``Quiz.on_card``)."""
        super().__init__(**kwargs)
        self.model = model
        self.question = question or (lambda: None)
        self.card: Card | None = None
        """The parts shown (tests read them)."""
        self._lines: OrderedDict[tuple, list[Strip]] = OrderedDict()
        self._key: tuple | None = None
        self._shown: list[Strip] | None = None
        """The lines on screen (a step repaints only those that change)."""
        self._shown_size = self.size
        self._plan: tuple[tuple, Plan] | None = None
        """The circuit's plan of this trace (label sizes, callouts), for the circuit around the gate."""
        self._around: dict[str, Layout] = {}
        """The circuit around each gate, laid out once."""

    def model_changed(self, touched: Aspect) -> None:
        if touched & (Aspect.SESSION | Aspect.DISPLAY | Aspect.CHECK):
            self._lines.clear()
        session = self.model.session
        if session is not None:
            chosen = tuple(sorted(self.model.chosen.items()))
            shown = self._shown
            asked = self.question() is not None
            where = (session.step, session.update, id(session.pending))
            self._key = (id(session), where, self.model.note, session.n_checked, chosen, asked)
            if shown is None or not self.is_mounted or self.size != self._shown_size:
                self.refresh()
                return
            lines = self._lines_now()  # repaint only the lines that differ from the screen
            width = self.size.width
            changed = [
                Region(0, y, width, 1)
                for y in range(max(len(lines), len(shown)))
                if y >= len(lines) or y >= len(shown) or lines[y] != shown[y]
            ]
            if changed:
                self.refresh(*changed)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self._shown = None

    @property
    def plain(self) -> str:
        """The card as text, as it is on screen."""
        return "\n".join(strip.text for strip in self._lines_now())

    def render_line(self, y: int) -> Strip:
        lines = self._shown = self._lines_now()
        self._shown_size = self.size
        return lines[y] if y < len(lines) else Strip.blank(self.size.width, self.rich_style)

    def _lines_now(self) -> list[Strip]:
        width, height = self.size
        key = (self._key, width, height)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = self._draw(width, height)
            if len(self._lines) > CACHED:
                self._lines.popitem(last=False)
        return lines

    # ------------------------------------------------------------ laying the card out
    def _draw(self, width: int, height: int) -> list[Strip]:
        from tui_backprop.app.presenter.card import card

        session = self.model.session
        base = self.ground
        if session is None or width <= 0:
            return []
        path = Elements(self.model).path(session.node_name)
        question = self.question()
        run = self.model.training.run if self.model.training is not None else None
        circuit = self._circuit(session, height, path)
        inner = max(1, width - 2 * PADDING)
        focus, bug = self.model.focus(), self.model.bug_label()
        self.card = parts = card(session, focus, path, bug, question, run, circuit, inner)
        formula_style = self.get_component_rich_style("card--formula", partial=True)
        head = self._text(parts.title, inner)
        if self.model.note:
            head += self._text(styled(f"🔖 {self.model.note}", st.FORWARD), inner)
        if parts.formula.plain:
            head += self._text(parts.formula, inner, formula_style)
        wide = max((line.cell_len for line in parts.circuit), default=0)
        drawing = [self._text(line, inner)[0].crop(0, wide) for line in parts.circuit]
        main = self._numbers(parts.main, inner)
        beside = (self._numbers(parts.main, inner, drawing) or None) if drawing and wide <= inner else None
        sections = [
            ("head", head),
            ("path", self._text(parts.path, inner) if parts.path else []),
            ("circuit", [] if beside is not None or wide > inner else drawing),
            ("main", beside if beside is not None else main),
            ("local", self._text(parts.local, inner)),
            ("sent", self._numbers(parts.sent, inner) if parts.sent else []),
            ("verdict", self._text(parts.verdict, inner)),
        ]
        rows = fit(sections, height - 1, self._blank(inner), [("main", main)])
        margin = Strip.blank(PADDING, base)
        lines = [Strip.join([margin, row, margin]) for row in rows[: max(0, height - 1)]]
        lines += [Strip.blank(width, base)] * (height - 1 - len(lines))
        keys_line = self._text(styled(QUIZ_KEYS if question else KEYS, st.PROSE), inner)[0]
        return [*lines, Strip.join([margin, keys_line, margin])]

    def _circuit(self, session: Session, height: int, path: ElementPath | None) -> list[Text]:
        """The circuit around the step's gate: laid out once per node, painted per step, the
        followed element's ``path`` picked out in its neighbours."""
        from tui_backprop.app.circuit import around, labels

        flat = height < FLAT_BELOW
        key = (id(session.trace), display.digits(), flat)
        if self._plan is None or self._plan[0] != key:
            self._plan = (key, labels.plan(session, flat))
            self._around.clear()
        plan = self._plan[1]
        name = session.node_name
        if session.trace.graph[name].op is None or session.update is not None:
            return []  # a leaf, or an update step: no gate to stand in
        drawn = self._around.get(name)
        if drawn is None:
            drawn = self._around[name] = around.around_layout(plan, name)
        lines = around.around(session, plan, drawn, self.model.focus(), path)
        while lines and not lines[-1].plain.strip():
            lines.pop()
        return lines

    @property
    def ground(self) -> Style:
        """The card's background alone: what blank cells are drawn with."""
        return Style(bgcolor=self.rich_style.bgcolor)

    def _blank(self, width: int) -> Strip:
        return Strip.blank(width, self.ground)

    def _text(self, text: Text, width: int, extra: Style | None = None) -> list[Strip]:
        """``text`` wrapped to ``width``, each line padded to it."""
        console = self.app.console
        base = self.rich_style + extra if extra else self.rich_style
        options = console.options.update(width=width, height=None, highlight=False)
        lines = console.render_lines(text, options, style=base, pad=False)
        return [Strip(line).extend_cell_length(width, self.ground) for line in lines]

    def _numbers(self, numbers: list[Number], width: int, right: list[Strip] | None = None) -> list[Strip]:
        """Large numbers side by side, each under its caption, ``GAP`` cells apart; a tensor's
        numbers as rows of text in the same place; ``right``: lines to put at the right edge (the
        circuit around the gate), when they fit beside the numbers."""
        from tui_backprop.app.inspector.matrices import laid_out

        console = self.app.console
        base, ground = self.rich_style, self.ground
        label_style = base + self.get_component_rich_style("card--label", partial=True)
        columns = []
        for number in numbers:
            part = "card--grad" if number.gradient else "card--value"
            digit_style = base + self.get_component_rich_style(part, partial=True)
            if number.rows:
                body = [self._text(laid_out((row,)), len(row), digit_style)[0] for row in number.rows]
            elif number.digits:
                options = console.options.update(width=max(1, Digits.get_width(number.digits)), height=3)
                drawn = console.render_lines(
                    Digits(number.digits, digit_style), options, style=base, pad=False
                )
                body = [Strip(line) for line in drawn[:3]]
            else:
                body = []
            label_width = Text(number.label).cell_len
            label = Strip([Segment(number.label, label_style)], label_width) if number.label else Strip([])
            columns.append([label, *body])
        used = sum(max(line.cell_length for line in column) + GAP for column in columns)
        drawing = right or []
        drawn_width = max((line.cell_length for line in drawing), default=0)
        if drawing and used + drawn_width > width:
            return []  # no room beside: the caller draws them apart
        depth = max([len(column) for column in columns] + [len(drawing)])
        rows = []
        for k in range(depth):
            row = []
            for column in columns:
                box = max(line.cell_length for line in column)
                line = column[k] if k < len(column) else Strip([])
                row.append(line.extend_cell_length(box + GAP, ground))
            strip = Strip.join(row).crop_extend(0, width - drawn_width if drawing else width, ground)
            if drawing:
                line = drawing[k] if k < len(drawing) else Strip([])
                strip = Strip.join([strip, line.crop_extend(0, drawn_width, ground)])
            rows.append(strip)
        return rows


DROPPED = ("path", "circuit", "sent")
"""What a card too tall for the screen leaves out, first to last (after its blank lines)."""


def fit(
    sections: list[tuple[str, list[Strip]]],
    height: int,
    blank: Strip,
    fallback: list[tuple[str, list[Strip]]],
) -> list[Strip]:
    """The sections one under the other with a blank line between, as many of those as there is
    room for; when even without them they are taller than ``height``, without the sections of
    ``DROPPED`` in turn (once the circuit is left out, the numbers it stood beside take their
    ``fallback`` form)."""
    present = [(name, rows) for name, rows in sections if rows]

    def stacked(parts: list[tuple[str, list[Strip]]], gaps: int) -> list[Strip]:
        """One under the other, a blank line after each of the first ``gaps`` sections."""
        out: list[Strip] = []
        for k, (_, rows) in enumerate(parts):
            if k and k <= gaps:
                out.append(blank)
            out += rows
        return out

    for drop in (None, *DROPPED):
        if drop == "circuit":
            replacements = dict(fallback)
            present = [(name, replacements.get(name, rows)) for name, rows in present]
        present = [(name, rows) for name, rows in present if name != drop]
        rows = stacked(present, 0)
        if len(rows) <= height:
            return stacked(present, min(len(present) - 1, height - len(rows)))
    return rows


class PresenterScreen(AnswersOnce, Screen[None]):
    """One step, large. Escape or P goes back; n, p, c and the jumps step as everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,P", "app.presenter", "Back", id="presenter.back", tooltip="Leave presenter mode"),
        *keys.DEBUGGER,
    ]

    def __init__(self, model: Model, question: Asked | None = None) -> None:
        super().__init__()
        self.model = model
        self.question = question

    def compose(self) -> ComposeResult:
        yield PresenterCard(self.model, self.question, id="card")
