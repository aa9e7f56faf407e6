"""torch and jax are optional extras: importing one that is missing says, in one line, what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS = {"torch": ("PyTorch", "torch"), "jax": ("JAX", "jax")}
"""Module name -> (what it is called, the extra of backprop-tui that installs it)."""


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message is the install command."""


def require(module: str) -> ModuleType:
    """Import ``torch`` or ``jax``, or raise ``MissingExtraError`` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        label, extra = EXTRAS[module]
        raise MissingExtraError(
            f"{label} is not installed ({exc}): pip install 'backprop-tui[{extra}]'", name=module
        ) from exc
