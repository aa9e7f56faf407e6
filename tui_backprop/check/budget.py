"""How much work and memory the check may spend per tensor, and its probes cut into chunks.

One place for the thresholds that choose between estimators (README, "How the check works") and
for the chunking every probe goes through, which is also where a running check is told to stop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from tui_backprop.check.settings import CheckSettings
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import Op

Array = np.ndarray
FAST_WORK = 1 << 16
"""Above this many element evaluations (probes × elements each one re-runs), a node's numeric
gradient is pulled back from its consumers' (exact per element, see probing) rather than probed
element by element. Small graphs, every built-in but deep-mlp among them, keep direct probes."""
FAST_OPS = 32
"""Likewise above this many ops downstream: each one costs a Python call per probe batch."""
PROJECT_WORK = 1 << 24
"""Above this many element evaluations, the local check of an op that allows no fast way (see
probing) verifies the input by random projections (see projection) unless ``exhaustive``."""
LOOP_WORK = 1 << 20
"""The same, where the probes run through an op that takes a batch one entry at a time (``loops``:
the author's own op or layer): each probe is then a Python call of its forward."""
BATCH_BUDGET = 1 << 20
"""Most elements any one batched tensor may hold (8 MiB in float64). Batches are released as soon
as every op that reads them has run, so this bounds the check's memory with the widest layer."""


class StopRequestedError(Exception):
    """``iter_check``'s ``should_stop`` said True between two probe chunks."""


STOP = threading.local()
"""The running ``iter_check``'s ``should_stop`` (per thread), consulted by ``chunks``."""


def loops(op: Op | None) -> bool:
    """Does the op run a batch of probes one entry at a time (no batched forward, not elementwise)?"""
    return op is not None and op.batched_forward is None and not op.elementwise


def project_above(loop: bool) -> int:
    """The work above which a tensor is verified by projection rather than probed per element."""
    return min(LOOP_WORK, PROJECT_WORK) if loop else PROJECT_WORK


def probe_indices(node: Node, size: int, settings: CheckSettings) -> Array:
    if settings.sample is None or size <= settings.sample:
        return np.arange(size)
    rng = np.random.default_rng([settings.seed, node.index])
    return np.sort(rng.choice(size, settings.sample, replace=False))


def chunks(indices: Array, per_item: int) -> Iterator[Array]:
    size = max(1, BATCH_BUDGET // max(per_item, 1))
    for chunk in [indices[i : i + size] for i in range(0, len(indices), size)] or [indices]:
        asked = getattr(STOP, "asked", None)
        if asked is not None and asked():
            raise StopRequestedError
        yield chunk
