"""A second look at suspect elements: kinks found without a hint, steps that stay in the domain.

The first pass compares each element with one central difference at ±eps. Two things make that
difference wrong while the backward is right, and both are looked for here, element by element,
on the *suspects* only (a mismatch, or a probe that gave NaN):

- a **kink** (a non-differentiable point) within the probe: the one-sided derivatives R and L
  (quadratics through F at 0, s/2, s on each side) disagree. Away from a kink R - L shrinks like
  s³ as the step s halves; at a kink it does not shrink at all. So an element is a kink when
  R - L at s/2 exceeds round-off and tolerance *and* is more than a quarter of R - L at s.
  Only elements the first pass called a mismatch are tested, so a false kink could only ever
  hide a bug where the function really bends sharply.
- a probe that **leaves the op's domain** (log near 0, BCE of a confident prediction) or whose
  step is too large for the curvature there: the step shrinks tenfold at a time; at each step
  the central differences at s and s/2 give a Richardson estimate and its truncation error, and
  one side alone is used when the other is NaN. The element is judged at the first step whose
  uncertainty (round-off plus truncation) is small enough to judge it; where none is, it is
  *unchecked*, with the reason.

The verdict rule itself stays the one of README: mismatch when |a - n| > atol + rtol·max(|a|,|n|)
+ noise, with the truncation error estimate added to the noise.
"""

from __future__ import annotations

import numpy as np

from tui_backprop.check.reprobe import Evaluate
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import MISMATCH, NOISE_FACTOR, Comparison, compare, element_atol

Array = np.ndarray
MAX_SUSPECTS = 256
"""Most elements of one tensor looked at again; beyond, the first pass's verdict stands."""
SHRINK = 10.0


DECISIVE = 0.1
"""An estimate may call an element ok only if its uncertainty is below this share of |a|, |n|."""

NO_STEP_IN_DOMAIN = "every step tried leaves the op's domain (F is NaN)"
TOO_COARSE = "finite differences are too inaccurate here at every step tried"
PROBE_RAISED = "the forward raised while probing"


def _slope(d1: Array, d2: Array, t1: Array, t2: Array) -> Array:
    """f'(0) of the quadratic through (0, 0), (t1, d1), (t2, d2)."""
    return (d1 * t2 * t2 - d2 * t1 * t1) / (t1 * t2 * (t2 - t1))


def _slope_noise(m1: Array, m2: Array, t1: Array, t2: Array, unit: float) -> Array:
    """Round-off of ``_slope``: each value's round-off times its weight (F(0)'s taken as F(t1)'s)."""
    k1 = np.abs(t2 / (t1 * (t2 - t1)))
    k2 = np.abs(t1 / (t2 * (t2 - t1)))
    return unit * (k1 * m1 + k2 * m2 + np.abs(k1 - k2) * m1)


def _stencils(
    d: Array, m: Array, t: Array, unit: float, settings: CheckSettings
) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Per row (columns: F at +s, -s, +s/2, -s/2, +2s, -2s, as differences from F(0)):
    (a kink at x?, a kink somewhere in the stencil?, best estimate, its uncertainty, whether
    it may decide, the plain central difference at s)."""
    fin = np.isfinite(d) & (t != 0)
    with np.errstate(all="ignore"):
        right = _slope(d[:, 2], d[:, 0], t[:, 2], t[:, 0])  # through s/2 and s
        left = _slope(d[:, 3], d[:, 1], t[:, 3], t[:, 1])
        right1 = _slope(d[:, 0], d[:, 4], t[:, 0], t[:, 4])  # through s and 2s
        left1 = _slope(d[:, 1], d[:, 5], t[:, 1], t[:, 5])
        n_right = _slope_noise(m[:, 2], m[:, 0], t[:, 2], t[:, 0], unit)
        n_left = _slope_noise(m[:, 3], m[:, 1], t[:, 3], t[:, 1], unit)
        n_right1 = _slope_noise(m[:, 0], m[:, 4], t[:, 0], t[:, 4], unit)
        n_left1 = _slope_noise(m[:, 1], m[:, 5], t[:, 1], t[:, 5], unit)
        c1 = (d[:, 0] - d[:, 1]) / (t[:, 0] - t[:, 1])
        c2 = (d[:, 2] - d[:, 3]) / (t[:, 2] - t[:, 3])
        n_c1 = unit * (m[:, 0] + m[:, 1]) / np.abs(t[:, 0] - t[:, 1])
        n_c2 = unit * (m[:, 2] + m[:, 3]) / np.abs(t[:, 2] - t[:, 3])
        both = fin.all(axis=1)
        only_right = ~both & fin[:, [0, 2, 4]].all(axis=1)
        only_left = ~both & ~only_right & fin[:, [1, 3, 5]].all(axis=1)

        jump, jump1 = right - left, right1 - left1
        beyond = settings.atol + settings.rtol * np.maximum(np.abs(right), np.abs(left)) + n_right + n_left
        beyond1 = (
            settings.atol + settings.rtol * np.maximum(np.abs(right1), np.abs(left1)) + n_right1 + n_left1
        )
        rough = both & ((np.abs(jump) > beyond) | (np.abs(jump1) > beyond1))
        kink = both & (np.abs(jump) > beyond) & (np.abs(jump) > 0.25 * np.abs(jump1))

        def richardson(fine, coarse, n_fine, n_coarse):
            """The step is small enough when the estimates at two steps agree within their
            round-off: keep the finer one, uncertain by its round-off and its truncation (a third
            of the two estimates' difference, which round-off may hide: added back). Otherwise
            extrapolate, its error estimated by the finer step's truncation."""
            truncation = np.abs(fine - coarse) / 3
            small = truncation <= 2 * (n_fine + n_coarse) / 3
            estimate = np.where(small, fine, fine + (fine - coarse) / 3)
            # Far from the asymptotic regime (sqrt next to 0) the two steps disagree wildly and
            # the error estimate means nothing: such an estimate decides nothing.
            settled = small | (3 * truncation <= DECISIVE * np.abs(fine))
            near = n_fine + truncation + (n_fine + n_coarse) / 3
            return estimate, np.where(small, near, truncation + 1.5 * n_fine), settled

        central, u_central, s_central = richardson(c2, c1, n_c2, n_c1)
        side_r, u_r, s_r = richardson(right, right1, n_right, n_right1)
        side_l, u_l, s_l = richardson(left, left1, n_left, n_left1)

    def pick(if_both: Array, if_right: Array, if_left: Array, otherwise) -> Array:
        return np.where(
            both, if_both, np.where(only_right, if_right, np.where(only_left, if_left, otherwise))
        )

    estimate = pick(central, side_r, side_l, np.nan)
    uncertainty = pick(u_central, u_r, u_l, np.nan)
    settled = pick(s_central, s_r, s_l, False)
    return kink, rough, estimate, uncertainty, settled, np.where(both, c1, np.nan)


def refine(
    c: Comparison,
    evaluate: Evaluate,
    eps: float,
    dtype: np.dtype,
    settings: CheckSettings,
    sampled: Array | None = None,
    mismatches: bool = True,
    base: Array | None = None,
    below_noise: bool = False,
) -> Comparison:
    """The comparison with its suspect elements looked at again (see the module docstring):
    its NaN probes, and its mismatches unless ``mismatches`` is False."""
    a = c.analytic.reshape(-1)
    nan_probe = np.zeros(a.size, dtype=bool)
    if c.unjudged is not None:  # (not those below the probe's noise: their probe was fine)
        nan_probe = c.unjudged.reshape(-1) & ~np.isfinite(c.numeric.reshape(-1))
    mismatching = (c.codes.reshape(-1) == MISMATCH) & mismatches
    suspects = np.flatnonzero(mismatching | nan_probe)[:MAX_SUSPECTS]
    if suspects.size == 0:
        return c
    numeric = c.numeric.reshape(-1).copy()
    noise = c.noise.reshape(-1).copy()
    kinks = c.kinks.reshape(-1).copy()
    why = {r: np.zeros(a.size, dtype=bool) for r in (NO_STEP_IN_DOMAIN, TOO_COARSE, PROBE_RAISED)}
    unit = NOISE_FACTOR * float(np.finfo(dtype).eps)
    # The first step: eps, unless eps is lost in rounding next to a large |x| (x + eps == x).
    magnitude = np.abs(base.reshape(-1).astype(np.float64)) if base is not None else np.zeros(a.size)
    start = np.maximum(eps, magnitude * np.sqrt(np.finfo(dtype).eps))
    levels = 7 if np.dtype(dtype) == np.float64 else 4
    pending = suspects
    seen_finite = np.zeros(a.size, dtype=bool)
    for level in range(levels):
        if pending.size == 0:
            break
        s = start[pending] / SHRINK**level
        offsets = s[:, None] * np.array([1.0, -1.0, 0.5, -0.5, 2.0, -2.0])
        flat = np.repeat(pending, offsets.shape[1])
        try:
            d, m, t = evaluate(flat, offsets.reshape(-1))
        except Exception as exc:  # user code raising on a probed value: reported, not raised
            reason = f"{PROBE_RAISED}: {type(exc).__name__}: {exc}"
            why[reason] = np.zeros(a.size, dtype=bool)
            why[reason][pending] = True
            numeric[pending] = np.nan
            pending = np.zeros(0, dtype=int)
            break
        d, m, t = (v.reshape(offsets.shape) for v in (d, m, t))
        kink, rough, estimate, uncertainty, settled, first = _stencils(d, m, t, unit, settings)
        seen_finite[pending] |= np.isfinite(estimate)
        with np.errstate(all="ignore"):
            ap = a[pending]
            scale = np.maximum(np.abs(ap), np.abs(estimate))
            err = np.abs(ap - estimate)
            tolerance = element_atol(settings, scale) + settings.rtol * scale + uncertainty
            usable = np.isfinite(estimate) & settled
            if level < levels - 1:  # one side alone only decides when no smaller step has both
                usable &= ~np.isnan(first)
            mismatch = usable & (err > tolerance)
            ok = usable & ~mismatch & (uncertainty <= np.maximum(DECISIVE * scale, settings.atol))
            if level < levels - 1:  # a kink near x but not at it: a smaller step gets clear of it
                mismatch &= ~rough
            else:  # still bent within the smallest stencil: a kink, closer than it to x
                kink |= mismatch & rough
        decided = kink | mismatch | ok
        kinks[pending[kink]] = True
        judged = (mismatch | ok) & ~kink
        numeric[pending[judged]] = estimate[judged]
        noise[pending[judged]] = uncertainty[judged]
        at_kink = pending[kink]  # shown with the first pass's central difference where it had one
        numeric[at_kink] = np.where(np.isfinite(numeric[at_kink]), numeric[at_kink], first[kink])
        pending = pending[~decided]
    if pending.size:
        numeric[pending] = np.nan
        why[TOO_COARSE][pending[seen_finite[pending]]] = True
        why[NO_STEP_IN_DOMAIN][pending[~seen_finite[pending]]] = True
    shape = c.analytic.shape
    return compare(
        c.analytic,
        numeric.reshape(shape),
        noise.reshape(shape),
        kinks.reshape(shape),
        settings,
        sampled=sampled,
        why={r: mask.reshape(shape) for r, mask in why.items()},
        below_noise=below_noise,
    )


def second_look(
    c: Comparison,
    evaluate: Evaluate,
    settings: CheckSettings,
    dtype: np.dtype,
    mismatches: bool = True,
    base: Array | None = None,
    below_noise: bool = False,
) -> Comparison:
    """``refine`` with the check's settings: what gradcheck calls on every comparison;
    ``base`` the probed tensor's values."""
    return refine(
        c,
        evaluate,
        settings.eps,
        dtype,
        settings,
        sampled=c.sampled,
        mismatches=mismatches,
        base=base,
        below_noise=below_noise,
    )
