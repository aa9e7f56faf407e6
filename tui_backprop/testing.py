"""``tui_backprop.testing``, the import path the README documents: ``assert_gradients_ok`` for test suites.

It lives in :mod:`tui_backprop.cli.assertion`; this module is its public face and holds nothing else.
"""

from tui_backprop.cli.assertion import assert_gradients_ok

__all__ = ["assert_gradients_ok"]
