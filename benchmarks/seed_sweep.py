"""Seed sweep of the check's verdicts: false alarms and missed bugs over many random draws.

Draw k (0..N-1) of a built-in scenario: its ``np.random.default_rng(seed)`` draws from
``[seed, k]``, and (for k > 0) every parameter leaf it writes by hand is jittered by a seeded
random factor and offset. For each draw and dtype the scenario is checked as written (any failure
is a false alarm) and with each named bug (the bug's node must be blamed, alone).
Run by hand:

    .venv/bin/python benchmarks/seed_sweep.py [N]      # default 30 draws

It prints one line per scenario and dtype, and the total; exit 1 if anything was wrong.
"""

from __future__ import annotations

import sys
from unittest import mock

import numpy as np

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core import scenarios
from tui_backprop.core.graph import Graph

_real_rng = np.random.default_rng
_real_param = Graph.param


def _jittered(k: int):
    def param(self, name, value):
        if k == 0:
            return _real_param(self, name, value)
        value = np.asarray(value, dtype=np.float64)
        rng = _real_rng([k, len(self.nodes)])
        return _real_param(
            self,
            name,
            value * (1 + 0.5 * rng.standard_normal(value.shape)) + 0.1 * rng.standard_normal(value.shape),
        )

    return param


def run(draws: int) -> int:
    wrong = 0
    for scenario in scenarios.builtins():
        for dtype in ("float64", "float32"):
            alarms, misses, unjudged, expected = 0, 0, 0, {}
            for k in range(draws):

                def shifted(seed=None, _k=k):
                    return _real_rng(None if seed is None else [int(np.sum(seed)), _k])

                with (
                    mock.patch("numpy.random.default_rng", shifted),
                    mock.patch.object(Graph, "param", _jittered(k)),
                ):
                    trace = scenarios.trace_scenario(scenario, None, dtype)
                    result = check(trace, CheckSettings.for_dtype(dtype))
                    alarms += result.failed
                    unjudged += result.n_unjudged
                    for bug in scenario.bugs:
                        bugged = check(
                            scenarios.trace_scenario(scenario, bug, dtype), CheckSettings.for_dtype(dtype)
                        )
                        if k == 0:
                            expected[bug] = bugged.blame
                        misses += (not bugged.failed) or len(bugged.blame) != 1
            wrong += alarms + misses
            bugs = draws * len(scenario.bugs)
            print(
                f"{scenario.slug:14} {dtype}  {draws} draws: {alarms} false alarms, "
                f"{misses} of {bugs} bugs not blamed alone, {unjudged} elements not judged"
            )
    print(f"total wrong verdicts: {wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
