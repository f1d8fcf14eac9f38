"""Gardner capacity of the spherical perceptron (continuous weights), a sanity reference.

Gardner 1988 (J. Phys. A 21, 257, eq. 40): ``alpha_c(kappa) = 1 / I(kappa)`` with
``I(kappa) = int_{-kappa}^inf Dt (t + kappa)^2``; ``alpha_c(0) = 2``. The formula is the
replica-symmetric result, exact for ``kappa >= 0`` (convex problem) and only an RS
estimate for ``kappa < 0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spinglass_nets.theory._special import check_kappa, log_N, panel_rule

__all__ = ["gardner_integral", "spherical_capacity"]


def _log_gardner_integral(kappa: float) -> float:
    # I(k) = N(k) int_0^inf x^2 exp(k x - x^2 / 2) dx after t = x - k: a positive integrand,
    # so no cancellation for any sign of k (the closed form (1 + k^2) H(-k) + k N(k) loses
    # about 4 log10|k| digits for k << 0). The integrand peaks near x = k + ~1 and decays
    # within ~ 1/|k| for k << 0.
    scale = 1.0 / max(1.0, -kappa)
    hi = max(kappa, 0.0) + 40.0 * scale + 12.0
    x, w = panel_rule(0.0, hi, [[max(kappa, 0.0)]], [[scale]])
    x, w = x[0], w[0]
    expo = kappa * x - 0.5 * x * x
    m = float(np.max(expo))
    j = float(np.dot(w, x * x * np.exp(expo - m)))
    return float(log_N(kappa)) + m + math.log(j)


def gardner_integral(kappa: Any) -> Any:
    """``I(kappa) = int_{-kappa}^inf Dt (t + kappa)^2`` (Gardner 1988, eq. 40)."""
    k = check_kappa(kappa)
    out = np.exp(np.vectorize(_log_gardner_integral, otypes=[float])(k))
    return float(out) if out.ndim == 0 else out


def spherical_capacity(kappa: Any = 0.0) -> Any:
    """Gardner capacity of the spherical perceptron, ``alpha_c = 1 / I(kappa)``.

    Gardner 1988, J. Phys. A 21, 257, eq. (40); PHYSICS.md section 2. ``alpha_c(0) = 2``.
    Returns ``inf`` where ``I(kappa)`` underflows (``kappa < ~ -38``). Accepts arrays.

    Examples
    --------
    >>> spherical_capacity(0.0)
    2.0
    """
    k = check_kappa(kappa)
    out = np.exp(-np.vectorize(_log_gardner_integral, otypes=[float])(k))
    return float(out) if out.ndim == 0 else out
