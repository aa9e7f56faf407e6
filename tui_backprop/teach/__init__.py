"""Teaching tools over a trace and its check: the chain rule in words and numbers, edits and nudges,
the quiz, lessons, the Markdown handout, the step-size sweep.

Imports ``core`` and ``check``.
"""
