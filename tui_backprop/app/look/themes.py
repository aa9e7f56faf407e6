"""The projector theme: white and bright colours on black, for the back row of a lecture hall.

A Textual theme (pick it with ctrl+p, "Change theme"; README "Teaching with it"). Its base
colours are named here; what it does to the app's own named styles (``bp.dim`` as bright as the
text, greens and reds at full strength) is in ``app.tcss`` under ``App.-theme-projector``.
"""

from __future__ import annotations

from textual.theme import Theme

PROJECTOR = Theme(
    name="projector",
    primary="gold",
    secondary="aqua",
    accent="yellow",
    foreground="white",
    background="black",
    surface="black",
    panel="dimgray",
    success="lime",
    warning="yellow",
    error="red",
    dark=True,
)
