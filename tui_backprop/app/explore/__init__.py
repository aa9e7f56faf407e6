"""Explore it live (README): edit, nudge and undo leaf values, the step-size explorer, quiz mode,
bookmarks, lesson files and the handout. Each a service over the model (no Textual), its words,
and the screens that ask for what the user types."""
