"""The command line: parsing (``args``), the headless commands (``commands``: list, check, trace),
their text report (``report``), the progress bar, ``serve``; ``main`` runs one command.

Never imports textual (``list``, ``check`` and ``trace`` must start fast) nor the app above it.
"""
