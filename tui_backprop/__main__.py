"""The ``backprop-tui`` command and ``python -m tui_backprop``: the command line, the app plugged in.

This is the one module above every layer (README, "Code map"). The command line never imports the
app, so that ``list``, ``check`` and ``trace`` start without textual and the layers stay one-way;
the app is handed to it here, imported only when it is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_backprop.cli.main import Loader


def open_app(
    scenario: str | None,
    bug: str | None,
    dtype: str,
    quiz: bool = False,
    loader: Loader | None = None,
    mystery: bool = False,
) -> int:
    """Open the Textual app (imported here, at the last moment) and return its exit code."""
    from tui_backprop.app.app import main

    return main(scenario, bug, dtype, quiz, loader, mystery)


def entry() -> None:
    """The console script ``backprop-tui``."""
    from tui_backprop.cli.main import entry as run

    run(open_app)


if __name__ == "__main__":
    entry()
