"""``tui_backprop.ops``, the import path the README documents: the built-in ops and ``Op``.

They live in :mod:`tui_backprop.core.ops`; this module is their public face and holds nothing else.
"""

from tui_backprop.core.ops import *  # noqa: F403
from tui_backprop.core.ops import __all__  # noqa: F401
