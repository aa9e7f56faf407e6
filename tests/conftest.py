"""Suite-wide settings.

Hypothesis runs derandomized here, so the suite gives the same verdict on every run and on every
machine (CI included); explore with fresh random examples by hand with
``pytest --hypothesis-seed=random`` or ``HYPOTHESIS_PROFILE=explore``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("suite", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture
def no_colouring(monkeypatch):
    """Projection tests: the author's ops they use have sparse Jacobians, which the check would
    otherwise colour and compare element by element (check/colouring.py)."""
    from tui_backprop.check import colouring

    monkeypatch.setattr(colouring, "MAX_RUNS", 0)
