"""Errors that name the author's own file and line, never a bare traceback."""

from __future__ import annotations

import traceback

from tui_backprop.core.graph import Origin, is_scenario_file


def is_author_file(filename: str) -> bool:
    """Code the author wrote: a scenario file (``graph.is_scenario_file``: not this package's own
    code, not the standard library's nor an installed one's, but the built-in scenarios), never a
    ``<string>``."""
    return not filename.startswith("<") and is_scenario_file(filename)


def origin_of_exception(exc: BaseException) -> Origin | None:
    """The innermost frame of the traceback that is the author's code (not ours, not numpy's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if is_author_file(frame.filename):
            return Origin(frame.filename, frame.lineno or 0)
    if isinstance(exc, SyntaxError) and exc.filename:
        return Origin(exc.filename, exc.lineno or 0)
    return None


EXTRAS = {"torch": ("PyTorch", "torch"), "jax": ("JAX", "jax"), "jaxlib": ("JAX", "jax")}
"""Optional dependencies: module name -> (what it is called, the extra of backprop-tui that installs it)."""


def not_installed(module: str) -> str:
    """``PyTorch is not installed: pip install 'backprop-tui[torch]'``."""
    label, extra = EXTRAS[module]
    return f"{label} is not installed: pip install 'backprop-tui[{extra}]'"


MESSAGE_LIMIT = 300
"""Longest exception message shown: an error is one line, even for a megabyte of message."""


def describe_exception(exc: BaseException) -> str:
    """``ValueError: message`` on one line; a missing optional dependency says how to install it."""
    name = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if name in EXTRAS and not str(exc).startswith(EXTRAS[name][0]):
        return f"{type(exc).__name__}: {not_installed(name)}"
    try:
        text = str(exc).strip().splitlines()
    except Exception:  # an author's exception whose __str__ itself fails
        text = ["(its message could not be printed)"]
    message = text[0] if text else ""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class ScenarioError(Exception):
    """A scenario that cannot be loaded, built or run. Rendered as one line naming file and line."""

    def __init__(self, message: str, origin: Origin | None = None, node: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.origin = origin
        self.node = node
        self.scenario: str | None = None
        """The plugin scenario's name, when the error is one that skipped a plugin."""

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        return f"{where}{self.message}"
