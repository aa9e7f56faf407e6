"""Comparisons in bounded memory: whole-tensor estimates compared on the probed elements only, and
all-ok comparisons kept without per-element arrays (``CheckSettings.lean``, for ``check``'s text)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from tui_backprop.check.probing import Estimate
from tui_backprop.check.results import NodeCheck
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import OK, UNCHECKED, Comparison, compare

Array = np.ndarray


def _broadcaster(shape: tuple[int, ...]) -> Callable[..., Array]:
    """A scalar as a read-only array of ``shape`` that takes no memory."""

    def scalar(value: float, dtype: type = np.float64) -> Array:
        return np.broadcast_to(np.asarray(value, dtype=dtype), shape)

    return scalar


def make_lean(result: NodeCheck) -> None:
    """Replace all-ok comparisons by ones whose per-element arrays take no memory (broadcast
    scalars carrying the same maxima): nothing in them is to be shown."""

    def lean(c: Comparison) -> Comparison:
        if (
            c.status != "ok"
            or c.codes.size < 64
            or c.n_unjudged
            or np.any((c.codes != OK) & (c.codes != UNCHECKED))
        ):
            return c
        codes = c.codes if np.any(c.codes == UNCHECKED) else None  # sampled: which ones
        shape = c.codes.shape

        scalar = _broadcaster(shape)

        return dataclasses.replace(
            c,
            numeric=scalar(np.nan),
            abs_err=scalar(c.max_abs_err),
            rel_err=scalar(c.max_rel_err),
            kinks=scalar(False, np.bool_),
            noise=scalar(0.0),
            codes=scalar(OK, np.int8) if codes is None else codes,
            unjudged=None,
        )

    if result.grad is not None:
        result.grad = lean(result.grad)
    result.local = {position: lean(c) for position, c in result.local.items()}


def compare_estimate(
    analytic: Array, estimate: Estimate, indices: Array, settings: CheckSettings, below_noise: bool = False
) -> Comparison:
    """Compare a whole-tensor estimate, keeping only the probed (sampled) elements (``below_noise``:
    the global check's limit, see verdict.compare)."""
    if settings.lean and len(indices) < estimate.numeric.size:
        quiet = _lean_sampled(analytic, estimate, indices, settings, below_noise)
        if quiet is not None:
            return quiet
    numeric = estimate.numeric
    keep = None
    if len(indices) < numeric.size:
        keep = np.zeros(numeric.size, dtype=bool)
        keep[indices] = True
        numeric = np.where(keep.reshape(numeric.shape), numeric, np.nan)
    sampled = keep.reshape(numeric.shape) if keep is not None else None
    if settings.lean and sampled is None and numeric.size > 2 * COMPARE_CHUNK:
        quiet = _lean_comparison(analytic, estimate, settings, below_noise)
        if quiet is not None:
            return quiet
    return compare(
        analytic, numeric, estimate.noise, estimate.kinks, settings, sampled=sampled, below_noise=below_noise
    )


COMPARE_CHUNK = 1 << 16


def _lean_sampled(
    analytic: Array, estimate: Estimate, indices: Array, settings: CheckSettings, below_noise: bool
) -> Comparison | None:
    """The sampled elements compared alone; if all are ok, a comparison whose only per-element
    array is the codes (which say which elements were sampled), else None."""
    pick = lambda v: v.reshape(-1)[indices]  # noqa: E731
    piece = compare(
        pick(analytic),
        pick(estimate.numeric),
        pick(estimate.noise),
        pick(estimate.kinks),
        settings,
        below_noise=below_noise,
    )
    if piece.status != "ok" or not np.all(piece.codes == OK):
        return None
    shape = analytic.shape
    codes = np.full(analytic.size, UNCHECKED, dtype=np.int8)
    codes[indices] = OK

    scalar = _broadcaster(shape)

    return Comparison(
        np.asarray(analytic, dtype=np.float64),
        scalar(np.nan),
        scalar(piece.max_abs_err),
        scalar(piece.max_rel_err),
        scalar(False, np.bool_),
        scalar(0.0),
        codes.reshape(shape),
        "ok",
    )


def _lean_comparison(
    analytic: Array, estimate: Estimate, settings: CheckSettings, below_noise: bool
) -> Comparison | None:
    """A big tensor compared a slice at a time; if every element is ok, the comparison without
    per-element arrays (see CheckSettings.lean), else None and the caller compares it whole."""
    a, n = analytic.reshape(-1), estimate.numeric.reshape(-1)
    noise, kinks = estimate.noise.reshape(-1), estimate.kinks.reshape(-1)
    max_abs = max_rel = 0.0
    for start in range(0, a.size, COMPARE_CHUNK):
        part = slice(start, start + COMPARE_CHUNK)
        piece = compare(a[part], n[part], noise[part], kinks[part], settings, below_noise=below_noise)
        if piece.status != "ok" or not np.all(piece.codes == OK):
            return None
        max_abs, max_rel = max(max_abs, piece.max_abs_err), max(max_rel, piece.max_rel_err)
    shape = analytic.shape

    scalar = _broadcaster(shape)

    return Comparison(
        np.asarray(analytic, dtype=np.float64),
        scalar(np.nan),
        scalar(max_abs),
        scalar(max_rel),
        scalar(False, np.bool_),
        scalar(0.0),
        scalar(OK, np.int8),
        "ok",
    )
