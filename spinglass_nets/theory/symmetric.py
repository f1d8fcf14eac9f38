"""Symmetric binary perceptron (SBP): solutions satisfy ``|Delta_mu| <= kappa`` for all mu.

The first moment ``s = log 2 + alpha log P(|z| <= kappa)``, ``P(|z| <= kappa) =
erf(kappa / sqrt 2)``, is the quenched entropy below capacity and the capacity is the first
moment prediction ``alpha_c(kappa) = -log 2 / log erf(kappa / sqrt 2)`` (Aubin, Perkins
and Zdeborova 2019, J. Phys. A 52, 294003, eqs. 6-8 and Theorem 1; proven sharp by Abbe,
Li and Sly 2021, FOCS; PHYSICS.md section 5). By the ``w -> -w`` symmetry the RS saddle
point sits at ``q = 0``, where the RS free entropy equals the annealed one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from spinglass_nets.theory._special import LOG_2, check_alpha, check_kappa

__all__ = ["symmetric_entropy", "symmetric_capacity", "symmetric_rs_phi"]


def _log_p_inside(kappa: np.ndarray) -> np.ndarray:
    # log P(|z| <= kappa) = log erf(kappa / sqrt 2) = log1p(-erfc(.)) keeps full precision
    # for large kappa, where erf -> 1; for small kappa erf itself is accurate.
    x = kappa / math.sqrt(2.0)
    return np.where(kappa > 1.0, np.log1p(-special.erfc(x)), np.log(special.erf(x)))


def symmetric_entropy(alpha: Any, kappa: Any) -> Any:
    """Entropy of solutions of the symmetric binary perceptron, ``log 2 + alpha log erf(kappa/sqrt 2)``.

    Exact (annealed = quenched) below :func:`symmetric_capacity` (Aubin, Perkins and
    Zdeborova 2019, eq. 6; Abbe, Li and Sly 2021). Above it the value is negative and means
    that no solution exists with high probability. ``kappa`` must be > 0; arrays broadcast.

    Examples
    --------
    >>> round(symmetric_entropy(1.0, 1.0), 6)
    0.311432
    """
    a = check_alpha(alpha)
    k = check_kappa(kappa, positive=True)
    out = LOG_2 + a * _log_p_inside(k)
    return float(out) if out.ndim == 0 else out


def symmetric_capacity(kappa: Any) -> Any:
    """Capacity of the symmetric binary perceptron, ``-log 2 / log erf(kappa / sqrt 2)``.

    Aubin, Perkins and Zdeborova 2019, eq. 8 (sharp threshold: Abbe, Li and Sly 2021);
    about 1.8159 at ``kappa = 1``. ``kappa`` must be > 0; accepts arrays.
    """
    k = check_kappa(kappa, positive=True)
    out = -LOG_2 / _log_p_inside(k)
    return float(out) if out.ndim == 0 else out


def symmetric_rs_phi(q: float, q_hat: float, alpha: float, kappa: float) -> float:
    """RS free entropy of the SBP at arbitrary ``(q, q^)`` (Aubin et al. 2019, eq. 20).

    ``phi = -q^ (1-q)/2 + E_z log 2cosh(sqrt(q^) z) + alpha E_z log P_q(z)`` with
    ``P_q(z) = H((-kappa - sqrt(q) z)/sqrt(1-q)) - H((kappa - sqrt(q) z)/sqrt(1-q))``. At
    ``q = q^ = 0`` it equals :func:`symmetric_entropy`; used to check that ``q = 0`` is a
    stationary point.
    """
    from spinglass_nets.theory._special import gauss_rule, log_2cosh

    k = float(check_kappa(kappa, positive=True))
    s = math.sqrt(max(q_hat, 0.0))
    z, w = gauss_rule([0.0], [1.0 / s if s > 0 else math.inf])
    ent = float(np.dot(w, log_2cosh(s * z)))
    sq, sr = math.sqrt(q), math.sqrt(1.0 - q)
    z, w = gauss_rule([-k / sq, k / sq] if sq > 0 else [],
                      [sr / sq, sr / sq] if sq > 0 else [])
    lo = (-k - sq * z) / sr
    hi = (k - sq * z) / sr
    p = special.ndtr(hi) - special.ndtr(lo)
    return -0.5 * q_hat * (1.0 - q) + ent + alpha * float(np.dot(w, np.log(p)))
