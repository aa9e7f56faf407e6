"""``python -m tui_backprop``: the same as the ``backprop-tui`` command."""

import sys

from tui_backprop.cli import main

sys.exit(main())
