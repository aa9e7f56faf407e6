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
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.screens.dialog import AnswersOnce
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui_backprop.app.engine import Question
    from tui_backprop.app.presenter.card import Card, Number

    Asked = Callable[[], Question | None]

PADDING = 2
"""Cells left and right of the card."""
GAP = 4
"""Cells after each large number."""
KEYS = "n next · p previous · c continue · < > digits · Esc back"
QUIZ_KEYS = "n shows the answer · p previous · < > digits · Esc back"
CACHED = 128


class PresenterCard(Watching, Widget):
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
        from tui_backprop.app.presenter.card import card, shows_a_path

        session = self.model.session
        base = self.ground
        if session is None or width <= 0:
            return []
        path = Elements(self.model).path(session.node_name) if shows_a_path(session) else None
        question = self.question()
        run = self.model.training.run if self.model.training is not None else None
        parts = card(session, self.model.focus(), path, self.model.bug_label(), question, run)
        self.card = parts
        inner = max(1, width - 2 * PADDING)
        rows = self._text(parts.title, inner)
        rows.append(self._blank(inner))
        if self.model.note:
            rows += self._text(styled(f"🔖 {self.model.note}", st.FORWARD), inner)
        rows += self._text(parts.formula, inner, self.get_component_rich_style("card--formula", partial=True))
        if parts.path:
            rows += self._text(parts.path, inner)
        rows.append(self._blank(inner))
        rows += self._numbers(parts.main, inner)
        rows.append(self._blank(inner))
        rows += self._text(parts.local, inner)
        rows.append(self._blank(inner))
        if parts.sent:
            rows += self._numbers(parts.sent, inner)
        rows += self._text(parts.verdict, inner)
        margin = Strip.blank(PADDING, base)
        lines = [Strip.join([margin, row, margin]) for row in rows[: max(0, height - 1)]]
        lines += [Strip.blank(width, base)] * (height - 1 - len(lines))
        keys_line = self._text(styled(QUIZ_KEYS if question else KEYS, st.PROSE), inner)[0]
        return [*lines, Strip.join([margin, keys_line, margin])]

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

    def _numbers(self, numbers: list[Number], width: int) -> list[Strip]:
        """Large numbers side by side, each under its caption, ``GAP`` cells apart."""
        console = self.app.console
        base, ground = self.rich_style, self.ground
        label_style = base + self.get_component_rich_style("card--label", partial=True)
        rows: list[list[Strip]] = [[], [], [], []]
        for number in numbers:
            part = "card--grad" if number.gradient else "card--value"
            digit_style = base + self.get_component_rich_style(part, partial=True)
            digit_width = Digits.get_width(number.digits)
            label_width = Text(number.label).cell_len
            box = max(digit_width, label_width)
            label = Strip([Segment(number.label, label_style)], label_width) if number.label else Strip([])
            rows[0].append(label.extend_cell_length(box + GAP, ground))
            options = console.options.update(width=max(1, digit_width), height=3)
            digits = console.render_lines(Digits(number.digits, digit_style), options, style=base, pad=False)
            for k in range(3):
                line = Strip(digits[k]) if number.digits and k < len(digits) else Strip([])
                rows[k + 1].append(line.extend_cell_length(box + GAP, ground))
        return [Strip.join(row).crop_extend(0, width, ground) for row in rows]


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
