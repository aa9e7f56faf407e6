"""What the numeric check is asked: one settings type for every part of it (README, "How the check
works": the defaults per dtype, tolerances, sampling, exhaustive, lean)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULTS: dict[str, dict[str, float]] = {
    "float64": {"eps": 1e-6, "rtol": 1e-5, "atol": 1e-8},
    "float32": {"eps": 1e-3, "rtol": 1e-2, "atol": 1e-4},
}


@dataclass(frozen=True)
class CheckSettings:
    eps: float
    rtol: float
    atol: float
    sample: int | None = None
    """Probe at most this many seeded random elements per tensor (None: every element)."""
    seed: int = 0
    exhaustive: bool = False
    """Per element everywhere: never verify a large tensor by random projections only."""
    lean: bool = False
    """Keep per-element arrays only where something is to be shown (a mismatch, a kink, an
    element not judged): what the text output of ``check`` needs, in bounded memory."""

    @classmethod
    def for_dtype(
        cls,
        dtype: str,
        eps: float | None = None,
        rtol: float | None = None,
        atol: float | None = None,
        sample: int | None = None,
        seed: int = 0,
        exhaustive: bool = False,
        lean: bool = False,
    ) -> CheckSettings:
        """The dtype's defaults, with any of them overridden."""
        base = DEFAULTS[dtype]
        return cls(
            eps=base["eps"] if eps is None else eps,
            rtol=base["rtol"] if rtol is None else rtol,
            atol=base["atol"] if atol is None else atol,
            sample=sample,
            seed=seed,
            exhaustive=exhaustive,
            lean=lean,
        )

    def in_float64(self) -> CheckSettings:
        """float64's defaults, the rest kept: what a float32 rule is judged with in float64."""
        return CheckSettings.for_dtype(
            "float64", sample=self.sample, seed=self.seed, exhaustive=self.exhaustive, lean=self.lean
        )
