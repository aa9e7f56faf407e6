"""The Textual UI: it renders the engine's trace and check and computes nothing of its own."""
