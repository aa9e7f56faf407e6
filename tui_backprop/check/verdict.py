"""Per-element verdicts: an analytic gradient judged against its numeric estimate.

The probing (gradcheck.py) says what finite differences measured at each element: the estimate,
the round-off it carries, whether the probe straddled a kink. This module turns that into one code
per element (ok, mismatch, kink, nonfinite, unchecked) and one status per tensor, by the rules
README's "How the check works" states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tui_backprop.check.settings import CheckSettings

Array = np.ndarray
Status = Literal["ok", "mismatch", "kink", "nonfinite", "unchecked", "nondeterministic"]
Method = Literal["direct", "coloured", "pull-back", "projection", "none"]
"""How a tensor's numeric side was had (chosen per tensor by choose.py; README, "How the check
works"): ``direct`` every element probed by ±eps, ``coloured`` every element from two runs per
colour of the op's input, ``pull-back`` a whole numeric gradient carried back through the ops that
read the tensor (or, locally, the upstream through an affine op's adjoint), ``projection`` random
projections of the whole tensor; ``none``: nothing was estimated (every element unchecked)."""

# Per-element codes, in arrays shaped like the tensor (for highlighting). OK, MISMATCH, KINK and
# NONFINITE are *compared* elements (each has its own numeric value); COVERED ones were verified
# only inside a random projection (README, "How the check works"); UNCHECKED ones were not judged.
OK, MISMATCH, KINK, NONFINITE, UNCHECKED, COVERED = 0, 1, 2, 3, 4, 5
COMPARED = (OK, MISMATCH, KINK, NONFINITE)

NOISE_FACTOR = 8.0
"""Round-off allowed for, in units of machine epsilon times the probed magnitudes."""


def round_off(magnitude: Array, step: Array, dtype: np.dtype) -> Array:
    """The round-off a central difference over ±step carries when F is about ``magnitude``."""
    return NOISE_FACTOR * np.finfo(dtype).eps * magnitude / (2 * np.abs(step))


NAN_PROBE = "the probe leaves the op's domain: F(x±h) is NaN"
BELOW_NOISE = "its gradient is below the probe's round-off: the global check cannot see it"
"""The global check's limit (README): an element that agrees only because the probe's round-off is
as large as its gradient (deep in a vanishing chain) is not judged; its backward rules are
judged by the local checks, at unit scale."""


FLOOR = 1e-4
"""atol' never goes below atol times this."""


def element_atol(settings: CheckSettings, magnitude: Array) -> float:
    """atol, but never more than rtol times the largest gradient of the tensor: a tensor whose
    gradients are all small is judged against its own scale (float32's atol 1e-4 would otherwise
    pass every element of a tensor whose gradients are ~1e-5). The real round-off of each probe
    is in ``noise``."""
    magnitude = np.asarray(magnitude)
    finite = magnitude[np.isfinite(magnitude)]
    scale = float(finite.max()) if finite.size else 0.0
    floor = settings.atol * FLOOR  # gradients of 1e-47 are no scale to judge anything against
    return max(min(settings.atol, settings.rtol * scale), floor)


SEVERITY: tuple[Status, ...] = ("nonfinite", "nondeterministic", "mismatch", "kink", "unchecked", "ok")
"""The statuses from the worst to the best."""


def worst(*statuses: Status) -> Status:
    """The status a node shows for several of its comparisons (at least one): a node with
    elements that could not be judged reads ``unchecked``, never plain ``ok``."""
    return min(statuses, key=SEVERITY.index)


@dataclass
class Comparison:
    """Analytic against numeric for one tensor, element by element."""

    analytic: Array
    numeric: Array
    abs_err: Array
    rel_err: Array
    kinks: Array
    """True where the ±eps probe straddled a kink."""
    noise: Array
    """The round-off level allowed for, per element."""
    codes: Array
    """Per-element OK / MISMATCH / KINK / NONFINITE / UNCHECKED."""
    status: Status
    unjudged: Array | None = None
    """True where an element was probed but could not be judged (code UNCHECKED)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why elements could not be judged: reason -> count."""
    method: Method = "none"
    """How the numeric side was had (see ``Method``); for ``projection``, along ``directions``
    random directions, elements probed one by one only where one failed."""
    directions: int = 0
    bound: float | None = None
    """Projection only: the smallest error of a single element it is sure to find (README)."""

    @property
    def sampled(self) -> Array:
        """The elements probed (all of them unless ``--sample`` chose some)."""
        unjudged = self.unjudged if self.unjudged is not None else False
        return ((self.codes != UNCHECKED) & (self.codes != COVERED)) | unjudged

    @property
    def n_unjudged(self) -> int:
        return 0 if self.unjudged is None else int(np.count_nonzero(self.unjudged))

    @property
    def probed(self) -> Array:
        """The elements *compared*: each has its own numeric value beside its analytic one."""
        return (self.codes != UNCHECKED) & (self.codes != COVERED)

    @property
    def n_covered(self) -> int:
        """Elements verified only as part of a projection."""
        return int(np.count_nonzero(self.codes == COVERED))

    @property
    def n_unchecked(self) -> int:
        """Elements neither compared nor covered: not sampled, or probed but not judged."""
        return int(np.count_nonzero(self.codes == UNCHECKED))

    @property
    def n_not_sampled(self) -> int:
        """Elements left out by choice (``--sample``): unchecked, without a reason of their own."""
        return self.n_unchecked - self.n_unjudged

    @property
    def max_rel_err(self) -> float:
        values = self.rel_err[self.probed & np.isfinite(self.rel_err)]
        return float(values.max()) if values.size else 0.0

    @property
    def max_abs_err(self) -> float:
        values = self.abs_err[self.probed & np.isfinite(self.abs_err)]
        return float(values.max()) if values.size else 0.0

    @property
    def n_mismatch(self) -> int:
        return int(np.count_nonzero(self.codes == MISMATCH))

    @property
    def n_kink(self) -> int:
        return int(np.count_nonzero(self.codes == KINK))

    @property
    def n_probed(self) -> int:
        return int(np.count_nonzero(self.probed))

    def differing(self) -> list[tuple[int, ...]]:
        """Indices of the mismatching elements, then the kinks."""
        index = [tuple(int(i) for i in ix) for ix in np.argwhere(self.codes == MISMATCH)]
        return index + [tuple(int(i) for i in ix) for ix in np.argwhere(self.codes == KINK)]


class Probes:
    """Numeric estimates, noise levels and kink flags for one tensor, gathered chunk by chunk."""

    def __init__(self, like: Array) -> None:
        self.shape = like.shape
        self.numeric = np.full(like.size, np.nan)
        self.noise = np.zeros(like.size)
        self.kinks = np.zeros(like.size, dtype=bool)
        self.sampled = np.zeros(like.size, dtype=bool)

    def put(self, flat: Array, numeric: Array, noise: Array, kinks: Array) -> None:
        self.numeric[flat], self.noise[flat], self.kinks[flat] = numeric, noise, kinks
        self.sampled[flat] = True

    def compare(self, analytic: Array, settings: CheckSettings, below_noise: bool = False) -> Comparison:
        shape = self.shape
        return compare(
            analytic,
            self.numeric.reshape(shape),
            self.noise.reshape(shape),
            self.kinks.reshape(shape),
            settings,
            sampled=self.sampled.reshape(shape),
            below_noise=below_noise,
        )


def compare(
    analytic: Array,
    numeric: Array,
    noise: Array,
    kinks: Array,
    settings: CheckSettings,
    sampled: Array | None = None,
    why: dict[str, Array] | None = None,
    below_noise: bool = False,
) -> Comparison:
    """Judge every element: mismatch where |a - n| > atol + rtol·max(|a|, |n|) + noise.

    ``sampled``: the elements probed (None: all; the rest were skipped by choice, ``--sample``).
    A probed element whose numeric estimate is NaN could not be judged: it is counted under its
    reason in ``why`` (reason -> mask), or under NAN_PROBE. ``below_noise`` (the global check):
    an element that would be ok while its noise is at least max(|a|, |n|) and that is above atol'
    is not judged either (BELOW_NOISE); an exact zero the probe shows exactly (a dead relu) is
    below atol' and stays ok.
    """
    a = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    sampled = np.ones(a.shape, dtype=bool) if sampled is None else np.asarray(sampled, dtype=bool)
    with np.errstate(all="ignore"):
        abs_err = np.abs(a - numeric)
        magnitude = np.maximum(np.abs(a), np.abs(numeric))
        rel_err = np.where(magnitude > 0, abs_err / magnitude, 0.0)
        tolerance = element_atol(settings, magnitude) + settings.rtol * magnitude + noise
        bad = abs_err > tolerance
    codes = np.full(a.shape, UNCHECKED, dtype=np.int8)
    usable = sampled & np.isfinite(numeric) & np.isfinite(a)
    codes[usable] = OK
    codes[usable & bad & ~kinks] = MISMATCH
    codes[usable & kinks] = KINK
    codes[~np.isfinite(a)] = NONFINITE
    unjudged = sampled & np.isfinite(a) & ~usable
    reasons: dict[str, int] = {}
    if below_noise:
        with np.errstate(all="ignore"):
            unseen = (codes == OK) & (noise >= magnitude) & (magnitude > element_atol(settings, magnitude))
        quiet = int(np.count_nonzero(unseen))
        if quiet:
            codes[unseen] = UNCHECKED
            unjudged = unjudged | unseen
            why = {**(why or {}), BELOW_NOISE: unseen}
    explained = np.zeros(a.shape, dtype=bool)
    for reason, mask in (why or {}).items():
        count = int(np.count_nonzero(unjudged & mask & ~explained))
        if count:
            reasons[reason] = count
        explained = explained | mask
    rest = int(np.count_nonzero(unjudged & ~explained))
    if rest:
        reasons[NAN_PROBE] = reasons.get(NAN_PROBE, 0) + rest
    shown = usable & (codes != UNCHECKED)
    abs_err = np.where(shown, abs_err, np.nan)
    rel_err = np.where(shown, rel_err, np.nan)
    if np.any(codes == NONFINITE):
        status: Status = "nonfinite"
    elif np.any(codes == MISMATCH):
        status = "mismatch"
    elif np.any(codes == KINK):
        status = "kink"
    elif np.any(unjudged) or not np.any(codes == OK):
        status = "unchecked"
    else:
        status = "ok"
    return Comparison(a, numeric, abs_err, rel_err, kinks & usable, noise, codes, status, unjudged, reasons)
