"""``python -m tui_backprop``: the same as the ``backprop-tui`` command."""

from tui_backprop.cli import entry

entry()
