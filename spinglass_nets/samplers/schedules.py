"""Inverse-temperature schedules and tempering ladders: plain float64 arrays.

Every function returns a 1-d float64 array with exact endpoints (first and last elements
equal the requested values bit for bit) and the requested length.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import as_real


def _check(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}={n!r} must be an integer >= 1")


def _check_beta(b, name, allow_zero=True):
    b = as_real(name, b)
    if not math.isfinite(b) or b < 0 or (b == 0 and not allow_zero):
        raise ValueError(f"{name}={b!r} must be a finite number {'>= 0' if allow_zero else '> 0'}")
    return b


def linear(beta_start: float, beta_end: float, n: int, *, what: str = "beta") -> np.ndarray:
    """``n`` betas evenly spaced from ``beta_start`` to ``beta_end`` (inclusive); ``what``
    names the quantity in error messages (``gamma`` for a coupling schedule)."""
    _check(n)
    b0, b1 = _check_beta(beta_start, f"{what}_start"), _check_beta(beta_end, f"{what}_end")
    out = np.linspace(b0, b1, n)
    out[0], out[-1] = b0, b1
    return out


def geometric(beta_start: float, beta_end: float, n: int, *, what: str = "beta") -> np.ndarray:
    """``n`` betas in geometric progression from ``beta_start`` to ``beta_end`` (both > 0);
    ``what`` as in :func:`linear`."""
    _check(n)
    b0 = _check_beta(beta_start, f"{what}_start", allow_zero=False)
    b1 = _check_beta(beta_end, f"{what}_end", allow_zero=False)
    out = np.geomspace(b0, b1, n)
    out[0], out[-1] = b0, b1
    return out


def from_array(betas) -> np.ndarray:
    """Validate a user schedule: 1-d, non-empty, finite or +inf, >= 0."""
    b = np.array(betas, dtype=np.float64).reshape(-1) if np.ndim(betas) <= 1 else None
    if b is None or b.size == 0:
        raise ValueError(f"a schedule must be a non-empty 1-d array of betas, got shape {np.shape(betas)}")
    if np.any(np.isnan(b)) or np.any(b < 0):
        raise ValueError("schedule betas must be >= 0 (inf allowed, nan not)")
    return b


def ladder(beta_min: float, beta_max: float, k: int, kind: str = "geometric") -> np.ndarray:
    """Tempering ladder of ``k`` inverse temperatures, ascending, exact endpoints.

    ``kind="geometric"`` (constant ratio; the usual choice when the heat capacity is
    roughly constant) or ``"linear"``.
    """
    _check(k, "k")
    if kind == "geometric":
        return geometric(beta_min, beta_max, k)
    if kind == "linear":
        return linear(beta_min, beta_max, k)
    raise ValueError(f"kind={kind!r} is not allowed; choose 'geometric' or 'linear'")
