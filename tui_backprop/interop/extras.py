"""torch and jax are optional extras: importing one that is missing says, in one line, what to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from tui_backprop.core.errors import not_installed


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message is the install command."""


def installed(module: str) -> bool:
    """Whether ``torch`` or ``jax`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that fails, or a module set to None
        return False


def require(module: str) -> ModuleType:
    """Import ``torch`` or ``jax``, or raise ``MissingExtraError`` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(not_installed(module), name=module) from exc
