"""Log-domain special functions, deterministic Gaussian quadrature and input checks.

Everything the replica formulas need is written in terms of

* ``H(x) = int_x^inf Dz = erfc(x / sqrt 2) / 2`` (Gaussian tail), evaluated as
  ``log H(x) = log_ndtr(-x)`` so that it never underflows for large ``x``;
* ``GH(x) = N(x) / H(x) = sqrt(2 / pi) / erfcx(x / sqrt 2)``, finite for every real ``x``
  (it behaves like ``x`` for large ``x`` and like ``0`` for large ``-x``);
* ``log 2cosh(x) = |x| + log1p(exp(-2|x|))``, which does not overflow.

Gaussian averages are computed with composite Gauss-Legendre panels whose breakpoints
are refined around the "kinks" of the integrand (the points where ``log H`` or
``log 2cosh`` switch from quadratic/linear to flat behaviour). The kink positions move
with the order parameters, so the rules are rebuilt at every evaluation; building them is
vectorised over rows so that one call produces a separate rule per outer node of a
two-dimensional integral.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np
from scipy import special

from spinglass_nets.errors import ConvergenceWarning

__all__ = [
    "LOG_2",
    "SADDLE_TOL",
    "log_H",
    "H",
    "GH",
    "log_N",
    "log_2cosh",
    "panel_rule",
    "gauss_rule",
    "check_alpha",
    "check_kappa",
    "check_d",
    "warn_not_converged",
]

LOG_2 = math.log(2.0)
SQRT_2 = math.sqrt(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

#: Residual below which a saddle point counts as converged (the issue's requirement).
SADDLE_TOL = 1e-10

#: Half-width of the integration range of a standard Gaussian variable: N(12) ~ 5e-32,
#: so the neglected tail is far below double precision even after multiplication by the
#: polynomially growing integrands (log H(u) ~ -u^2/2) that appear here.
Z_MAX = 12.0

# Gauss-Legendre nodes on [-1, 1]; 12 points per panel integrate polynomials of degree 23
# exactly, which on panels a few kink-widths wide is far more than double precision needs.
_GL_N = 12
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_N)
# Breakpoints around a kink of width w, at c +- s * w: the integrand changes its analytic
# form inside ~ +-2 w and becomes smooth polynomial-times-Gaussian beyond ~ 8 w.
_KINK_OFFSETS = (0.0, 0.5, 2.0, 8.0)
# Uniform breakpoints over the whole range keep far panels short enough for 12 nodes.
_N_UNIFORM = 10


@functools.lru_cache(maxsize=16)
def _leggauss(n: int):
    return np.polynomial.legendre.leggauss(n)


def log_H(x: Any) -> np.ndarray:
    """``log H(x)`` with ``H(x) = erfc(x / sqrt 2) / 2``, accurate for all real ``x``."""
    return special.log_ndtr(-np.asarray(x, dtype=float))


def H(x: Any) -> np.ndarray:
    """Gaussian tail ``H(x) = int_x^inf Dz``."""
    return special.ndtr(-np.asarray(x, dtype=float))


def GH(x: Any) -> np.ndarray:
    """``N(x) / H(x)`` via ``erfcx`` (no overflow; ``GH(x) ~ x`` for large ``x``)."""
    return SQRT_2_OVER_PI / special.erfcx(np.asarray(x, dtype=float) / SQRT_2)


def log_N(x: Any) -> np.ndarray:
    """Log of the standard normal density."""
    x = np.asarray(x, dtype=float)
    return -0.5 * x * x - LOG_SQRT_2PI


def log_2cosh(x: Any) -> np.ndarray:
    """``log(2 cosh x)`` without overflow."""
    a = np.abs(np.asarray(x, dtype=float))
    return a + np.log1p(np.exp(-2.0 * a))


def panel_rule(lo: Any, hi: Any, centers: Any = None, widths: Any = None, n: int = _GL_N,
               n_uniform: int = _N_UNIFORM):
    """Composite Gauss-Legendre rules on ``[lo, hi]``, one per row, refined near kinks.

    Parameters
    ----------
    lo, hi : array_like, shape (M,)
        Integration limits of each row.
    centers, widths : array_like, shape (M, K), optional
        Kink positions and widths. Non-finite centres or widths are ignored (the
        corresponding breakpoints collapse onto ``lo``).
    n : int
        Gauss-Legendre nodes per panel.
    n_uniform : int
        Number of equal panels the range is first cut into.

    Returns
    -------
    x, w : ndarray, shape (M, n_nodes)
        Nodes and plain (``dx``) weights; zero-length panels carry zero weight.
    """
    lo = np.atleast_1d(np.asarray(lo, dtype=float))
    hi = np.atleast_1d(np.asarray(hi, dtype=float))
    rows = max(lo.size, hi.size, 1 if centers is None else np.shape(centers)[0])
    lo, hi = np.broadcast_to(lo, (rows,)), np.broadcast_to(hi, (rows,))
    lo_c, hi_c = lo[:, None], hi[:, None]
    frac = np.linspace(0.0, 1.0, n_uniform + 1)[None, :]
    parts = [lo_c + (hi_c - lo_c) * frac]
    if centers is not None:
        c = np.asarray(centers, dtype=float)
        wd = np.abs(np.asarray(widths, dtype=float))
        c, wd = np.broadcast_arrays(c.reshape(lo.size, -1), wd.reshape(lo.size, -1))
        bad = ~(np.isfinite(c) & np.isfinite(wd))
        c = np.where(bad, lo_c, c)
        wd = np.where(bad, 0.0, wd)
        for s in _KINK_OFFSETS:
            parts.append(c + s * wd)
            if s:
                parts.append(c - s * wd)
    bp = np.clip(np.concatenate(parts, axis=1), lo_c, hi_c)
    bp.sort(axis=1)
    a, b = bp[:, :-1], bp[:, 1:]
    half = 0.5 * (b - a)
    mid = 0.5 * (b + a)
    gx, gw = (_GL_X, _GL_W) if n == _GL_N else _leggauss(n)
    x = (mid[:, :, None] + half[:, :, None] * gx).reshape(lo.size, -1)
    w = (half[:, :, None] * gw).reshape(lo.size, -1)
    return x, w


def gauss_rule(centers: Any = (), widths: Any = (), z_max: float = Z_MAX):
    """Nodes and weights for ``E_z f(z)``, z standard normal, refined near given kinks.

    Returns 1-D arrays ``z, w`` with ``sum(w * f(z))`` approximating ``E_z f(z)``.
    """
    c = np.atleast_1d(np.asarray(centers, dtype=float))[None, :]
    wd = np.atleast_1d(np.asarray(widths, dtype=float))[None, :]
    if c.size == 0:
        x, w = panel_rule(-z_max, z_max)
    else:
        x, w = panel_rule(-z_max, z_max, c, wd)
    x, w = x[0], w[0]
    return x, w * np.exp(log_N(x))


def _fmt(value: Any) -> str:
    try:
        return f"{float(value)!r}"
    except (TypeError, ValueError):
        return repr(value)


def check_alpha(alpha: Any, name: str = "alpha") -> np.ndarray:
    """Return ``alpha`` as a float array; ValueError unless finite and >= 0."""
    a = np.asarray(alpha, dtype=float)
    bad = ~np.isfinite(a) | (a < 0)
    if np.any(bad):
        raise ValueError(f"{name}={_fmt(a[bad].flat[0])} is not allowed: {name} must be a "
                         "finite number >= 0")
    return a


def check_kappa(kappa: Any, name: str = "kappa", positive: bool = False) -> np.ndarray:
    """Return ``kappa`` as a float array; ValueError unless finite (and > 0 if asked)."""
    k = np.asarray(kappa, dtype=float)
    bad = ~np.isfinite(k)
    if positive:
        bad |= ~(k > 0)
    if np.any(bad):
        allowed = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{name}={_fmt(k[bad].flat[0])} is not allowed: {name} must be "
                         f"{allowed}")
    return k


def check_d(d: Any) -> np.ndarray:
    """Return ``d`` as a float array; ValueError unless every value lies in [0, 1/2]."""
    x = np.asarray(d, dtype=float)
    bad = ~np.isfinite(x) | (x < 0) | (x > 0.5)
    if np.any(bad):
        raise ValueError(f"d={_fmt(x[bad].flat[0])} is not allowed: the Hamming distance "
                         "fraction d must lie in [0, 0.5]")
    return x


def warn_not_converged(what: str, residual: float) -> None:
    """Emit the package's :class:`ConvergenceWarning` for an unconverged saddle point."""
    warnings.warn(f"{what}: saddle point not converged (residual {residual:.3g} > "
                  f"{SADDLE_TOL:g})", ConvergenceWarning, stacklevel=3)


def as_output(values: np.ndarray, scalar: bool):
    """Return a Python float for scalar input, else the array itself."""
    return float(values.reshape(())) if scalar else values
