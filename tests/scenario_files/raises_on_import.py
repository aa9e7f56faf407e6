"""Raises on import."""

raise RuntimeError("this file raises while importing")
