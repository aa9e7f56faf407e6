"""Line API widgets whose lines are finished: handed to the compositor as they are.

Textual passes every line a widget repaints through its box pass (borders, padding, tint,
opacity) and then its line filters, making a new strip each time, so a line drawn before is
filtered again whenever it comes back. The inspector, the circuit and the presenter card draw
whole lines themselves (background, padding, scroll bar) and keep each one as one ``Strip``
object; a step repaints most of their lines, and Textual's pass over them cost more than the
rest of the step. A widget that mixes ``FinishedLines`` in (before the Textual class) gives its
lines to the compositor as they are, with Textual's line filters applied once per line and kept
with it (the strip's own filter cache). When the box adds anything (padding, a side border, an
outline, tint, opacity, hatching, a hovered link), every line goes through Textual's pass as
before; a top or bottom border alone (the inspector under the circuit) has just its own row
drawn by Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

if TYPE_CHECKING:
    from textual.css.styles import RenderStyles

KEPT = 4096
"""Lines padded to the widget's width that are kept (by the line they were made from)."""


class FinishedLines:
    """``render_lines`` from ``render_line``'s own strips, with no box pass when the box adds nothing."""

    _padded: dict[int, tuple[Strip, Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        rows = _box_rows(self.styles, self)  # type: ignore[attr-defined]
        if rows is None:
            return super().render_lines(crop)  # type: ignore[misc]
        top, bottom = rows
        width, height = self.size  # type: ignore[attr-defined]
        base_background, background = self.background_colors  # type: ignore[attr-defined]
        filters = self.get_line_filters()  # type: ignore[attr-defined]
        ground = Style(bgcolor=(base_background + background).rich_color)
        lines = []
        for y in crop.line_range:
            if y < top or y >= height - bottom:  # a border's row, drawn by Textual
                lines.append(super().render_lines(Region(0, y, width, 1))[0])  # type: ignore[misc]
                continue
            strip = self._to_width(self.render_line(y - top), width, ground)  # type: ignore[attr-defined]
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            lines.append(strip)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            lines = [line.crop(x1, x2) for line in lines]
        return lines

    def _to_width(self, strip: Strip, width: int, ground: Style) -> Strip:
        """``strip`` as wide as the widget (the scroll bar's gutter covers the rest): one padded
        strip per line, kept, so its filtered copy is kept too."""
        if strip.cell_length == width:
            return strip
        padded = self._padded
        if padded is None:
            padded = self._padded = {}
        kept = padded.get(id(strip))
        if kept is None or kept[0] is not strip or kept[1].cell_length != width:
            if len(padded) > KEPT:
                padded.clear()
            kept = padded[id(strip)] = (strip, strip.adjust_cell_length(width, ground))
        return kept[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._padded = None


def _box_rows(styles: RenderStyles, widget: object) -> tuple[int, int] | None:
    """(rows of top border, rows of bottom border) when the box adds nothing but those; else None."""
    if any(styles.padding) or any(edge for edge, _ in styles.outline):
        return None
    (top, _), (right, _), (bottom, _), (left, _) = styles.border
    if left or right or styles.tint.a or styles.text_opacity != 1 or widget.opacity != 1:  # type: ignore[attr-defined]
        return None
    if styles.has_rule("hatch") and styles.hatch != "none":
        return None
    hover = widget.hover_style  # type: ignore[attr-defined]
    if widget.auto_links and hover.link_id and "@click" in hover.meta:  # type: ignore[attr-defined]
        return None
    return (1 if top else 0), (1 if bottom else 0)
