"""Replica-symmetric entropy, capacity and margin density of the binary perceptron.

Storage problem with random labels: weights ``w in {-1, +1}^N``, ``P = alpha N`` patterns,
solutions satisfy ``Delta_mu >= kappa`` for every pattern. The replica-symmetric free entropy
(Gardner and Derrida 1988, J. Phys. A 21, 271, eqs. (22)-(24) in our notation; Krauth and
Mezard 1989, J. Phys. France 50, 3057, eq. (5)) is

    phi(q, q^) = -q^ (1 - q) / 2 + E_z log 2cosh(sqrt(q^) z) + alpha E_z log H(u),
    u = (kappa - sqrt(q) z) / sqrt(1 - q),

stationary at ``q = E_z tanh^2(sqrt(q^) z)`` and ``q^ = alpha / (1 - q) E_z GH(u)^2``.
Internally the solver works with ``r = 1 - q`` so that nothing cancels when ``q -> 1``; the
two stationarity conditions are collapsed into one equation in ``r`` that is bracketed on
``(0, 1]`` and solved with Brent's method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from spinglass_nets.theory._special import (
    GH,
    LOG_2,
    SADDLE_TOL,
    as_output,
    check_alpha,
    check_kappa,
    gauss_rule,
    log_2cosh,
    log_H,
    warn_not_converged,
)

__all__ = [
    "RSResult",
    "rs_entropy",
    "annealed_entropy",
    "capacity",
    "max_margin",
    "gardner_derrida_alpha",
    "margin_density",
    "margin_cdf",
]

# Smallest 1 - q tried when bracketing: beyond it the RS saddle is numerically q = 1.
_R_MIN = 1e-13


@dataclass(frozen=True)
class RSResult:
    """Replica-symmetric saddle point of the binary perceptron (Gardner-Derrida).

    Attributes
    ----------
    alpha, kappa : float or ndarray
        Load ``P/N`` and margin.
    entropy : float or ndarray
        ``s_RS`` per weight, in nats (``phi`` at the saddle point).
    q, q_hat : float or ndarray
        Overlap of two solutions and its conjugate.
    converged : bool or ndarray
        Whether the saddle point was found with ``residual < 1e-10``.
    residual : float or ndarray
        ``|E_z tanh^2(sqrt(q^) z) - q|`` at the returned point (``q^`` is computed exactly
        from ``q``, so this is the only residual).
    iterations : int or ndarray
        Number of evaluations of the saddle-point map.
    """

    alpha: Any
    kappa: Any
    entropy: Any
    q: Any
    q_hat: Any
    converged: Any
    residual: Any
    iterations: Any


def _qhat_of_r(r: float, alpha: float, kappa: float) -> float:
    """``q^ = alpha / (1 - q) E_z GH(u)^2`` with ``r = 1 - q`` (Gardner-Derrida saddle)."""
    q = 1.0 - r
    sq, sr = math.sqrt(q), math.sqrt(r)
    if sq > 0:
        z, w = gauss_rule([kappa / sq], [sr / sq])
    else:
        z, w = gauss_rule()
    u = (kappa - sq * z) / sr
    return alpha / r * float(np.dot(w, GH(u) ** 2))


def _one_minus_T(qh: float) -> float:
    """``1 - E_z tanh^2(sqrt(q^) z) = E_z sech^2(sqrt(q^) z)``, computed without cancellation."""
    s = math.sqrt(max(qh, 0.0))
    z, w = gauss_rule([0.0], [1.0 / s if s > 0 else math.inf])
    e = np.exp(-2.0 * np.abs(s * z))
    return float(np.dot(w, 4.0 * e / (1.0 + e) ** 2))


def _rs_phi(q: float, qh: float, alpha: float, kappa: float) -> float:
    """Free entropy ``phi(q, q^)`` at arbitrary (not necessarily stationary) arguments."""
    r = 1.0 - q
    s = math.sqrt(max(qh, 0.0))
    z, w = gauss_rule([0.0], [1.0 / s if s > 0 else math.inf])
    ent = float(np.dot(w, log_2cosh(s * z)))
    energ = 0.0
    if alpha > 0:
        sq, sr = math.sqrt(max(q, 0.0)), math.sqrt(r)
        z, w = gauss_rule([kappa / sq if sq > 0 else math.inf], [sr / sq if sq > 0 else 1.0])
        energ = float(np.dot(w, log_H((kappa - sq * z) / sr)))
    return -0.5 * qh * r + ent + alpha * energ


def _rs_dphi_dalpha(q: float, alpha: float, kappa: float) -> float:
    """``d s_RS / d alpha = E_z log H(u)`` (envelope theorem at the saddle point)."""
    r = 1.0 - q
    sq, sr = math.sqrt(q), math.sqrt(r)
    z, w = gauss_rule([kappa / sq if sq > 0 else math.inf], [sr / sq if sq > 0 else 1.0])
    return float(np.dot(w, log_H((kappa - sq * z) / sr)))


def _rs_dphi_dkappa(q: float, alpha: float, kappa: float) -> float:
    """``d s_RS / d kappa = -alpha / sqrt(1-q) E_z GH(u)`` (envelope theorem)."""
    r = 1.0 - q
    sq, sr = math.sqrt(q), math.sqrt(r)
    z, w = gauss_rule([kappa / sq if sq > 0 else math.inf], [sr / sq if sq > 0 else 1.0])
    return -alpha / sr * float(np.dot(w, GH((kappa - sq * z) / sr)))


def _solve_scalar(alpha: float, kappa: float, r_guess: float | None = None,
                  warn: bool = True):
    """Solve the RS saddle point at one (alpha, kappa); returns a tuple of scalars.

    ``warn=False`` is for internal probes (root brackets) that expect to step past the
    Gardner-Derrida point.
    """
    if alpha == 0.0:
        return LOG_2, 0.0, 0.0, True, 0.0, 0
    count = [0]

    def g(r: float) -> float:
        # g(r) = T(q) - q written as r - (1 - T): positive at q = 0, negative at q -> 1
        # below the Gardner-Derrida point, where the bracket always exists.
        count[0] += 1
        return r - _one_minus_T(_qhat_of_r(r, alpha, kappa))

    lo, hi = _R_MIN, 1.0
    if r_guess is not None and _R_MIN < r_guess < 1.0:
        a, b = r_guess / 1.3, min(1.0, r_guess * 1.3)
        if g(a) < 0 < g(b):
            lo, hi = a, b
    g_lo = g(lo) if lo == _R_MIN else -1.0
    if g_lo >= 0:
        # No RS saddle with q < 1: alpha lies beyond the Gardner-Derrida point.
        if warn:
            warn_not_converged(f"rs_entropy(alpha={alpha}, kappa={kappa})", math.inf)
        return math.nan, 1.0, math.inf, False, math.inf, count[0]
    r = optimize.brentq(g, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
    qh = _qhat_of_r(r, alpha, kappa)
    res = abs(g(r))
    q = 1.0 - r
    s = _rs_phi(q, qh, alpha, kappa)
    ok = res < SADDLE_TOL and math.isfinite(s)
    if not ok and warn:
        warn_not_converged(f"rs_entropy(alpha={alpha}, kappa={kappa})", res)
    return s, q, qh, ok, res, count[0]


def rs_entropy(alpha: Any, kappa: Any = 0.0) -> RSResult:
    """Replica-symmetric entropy of solutions of the binary perceptron.

    Implements the Gardner-Derrida free entropy (Gardner and Derrida 1988, eqs. 22-24;
    Krauth and Mezard 1989, eq. 5; PHYSICS.md section 2) at its saddle point.

    Parameters
    ----------
    alpha : float or array_like
        Load ``P/N >= 0``.
    kappa : float or array_like
        Margin (any finite value); broadcast against ``alpha``.

    Returns
    -------
    RSResult
        Floats for scalar input, arrays of the broadcast shape otherwise. Points are
        solved in order with the previous ``q`` as warm start. Beyond the Gardner-Derrida
        point ``2 / (pi I(kappa))`` there is no RS saddle with ``q < 1``: those points
        warn and carry ``converged=False`` and ``entropy=nan``.

    Examples
    --------
    >>> r = rs_entropy(0.5)
    >>> round(r.entropy, 5), r.converged
    (0.31439, True)
    """
    a = check_alpha(alpha)
    k = check_kappa(kappa)
    scalar = a.ndim == 0 and k.ndim == 0
    a, k = np.broadcast_arrays(a, k)
    out = np.empty((6,) + a.shape, dtype=float)
    r_prev = None
    for idx in np.ndindex(a.shape):
        s, q, qh, ok, res, it = _solve_scalar(float(a[idx]), float(k[idx]), r_prev)
        out[(slice(None),) + idx] = (s, q, qh, float(ok), res, it)
        r_prev = 1.0 - q if ok and q > 0 else None
    return RSResult(
        alpha=as_output(a.astype(float), scalar),
        kappa=as_output(k.astype(float), scalar),
        entropy=as_output(out[0], scalar),
        q=as_output(out[1], scalar),
        q_hat=as_output(out[2], scalar),
        converged=bool(out[3]) if scalar else out[3].astype(bool),
        residual=as_output(out[4], scalar),
        iterations=int(out[5]) if scalar else out[5].astype(int),
    )


def annealed_entropy(alpha: Any, kappa: Any = 0.0) -> Any:
    """First-moment (annealed) entropy ``log 2 + alpha log H(kappa)``.

    Upper bound on the quenched entropy (PHYSICS.md section 2; Gardner and Derrida 1988).
    Returns a float for scalar input, else an array of the broadcast shape.
    """
    a = check_alpha(alpha)
    k = check_kappa(kappa)
    out = LOG_2 + a * log_H(k)
    return float(out) if out.ndim == 0 else out


def _gardner_integral(kappa: float) -> float:
    """``I(kappa) = int_{-kappa}^inf Dt (t + kappa)^2 = (1 + k^2) H(-k) + k N(k)``."""
    from spinglass_nets.theory.spherical import gardner_integral

    return float(gardner_integral(kappa))


def gardner_derrida_alpha(kappa: Any = 0.0) -> Any:
    """The RS ``q -> 1`` point ``2 / (pi I(kappa))`` (Gardner and Derrida 1988, eq. 27).

    Not the capacity of binary weights (the RS entropy is negative there); it bounds the
    region where the RS saddle point exists.
    """
    k = check_kappa(kappa)
    out = np.vectorize(lambda x: 2.0 / (math.pi * _gardner_integral(x)))(k)
    return float(out) if out.ndim == 0 else out


def _safe_root(f, lo: float, hi: float, x0: float | None, tol: float = 1e-14) -> float:
    """Root of ``f`` bracketed by ``[lo, hi]`` (f(lo) > 0 > f(hi)); secant from ``x0``, else Brent."""
    if x0 is not None and lo < x0 < hi:
        # A warm start from the previous point of a curve: bracket it tightly first.
        step = 1e-3 * max(abs(x0), 1e-3)
        a, b = max(lo, x0 - step), min(hi, x0 + step)
        for _ in range(30):
            fa, fb = f(a), f(b)
            if fa > 0 > fb:
                return optimize.brentq(f, a, b, xtol=tol, rtol=4 * np.finfo(float).eps)
            if fa <= 0:
                a = max(lo, a - 4 * (b - a))
            if fb >= 0:
                b = min(hi, b + 4 * (b - a))
    return optimize.brentq(f, lo, hi, xtol=tol, rtol=4 * np.finfo(float).eps)


def _entropy_at(alpha: float, kappa: float) -> float:
    s, *_ = _solve_scalar(alpha, kappa, warn=False)
    return s


def _capacity_scalar(kappa: float, guess: float | None) -> float:
    log_hk = float(log_H(kappa))
    hi = min(-LOG_2 / log_hk, gardner_derrida_alpha(kappa) * (1.0 - 1e-9))
    lo = 1e-6 * hi

    def f(a: float) -> float:
        s = _entropy_at(a, kappa)
        # Past the q -> 1 point the RS entropy is -infinity for our purposes.
        return -math.inf if math.isnan(s) else s

    return _safe_root(f, lo, hi, guess)


def capacity(kappa: Any = 0.0) -> Any:
    """Storage capacity ``alpha_c(kappa)`` of the binary perceptron, zero-entropy criterion.

    ``alpha_c`` solves ``s_RS(alpha_c, kappa) = 0`` (Krauth and Mezard 1989, eq. 7;
    PHYSICS.md section 2); ``alpha_c(0) = 0.833078...``. This is *not* the Gardner-Derrida
    ``q -> 1`` point (:func:`gardner_derrida_alpha`). Accepts arrays (solved in order with
    warm starts); the root is located to ``|delta alpha| < 1e-13``.

    Examples
    --------
    >>> round(capacity(0.0), 4)
    0.8331
    """
    k = check_kappa(kappa)
    out = np.empty(k.shape)
    guess = None
    for idx in np.ndindex(k.shape):
        guess = _capacity_scalar(float(k[idx]), guess)
        out[idx] = guess
    return float(out) if out.ndim == 0 else out


def _max_margin_scalar(alpha: float, guess: float | None) -> float:
    # s_RS decreases with kappa; the annealed root bounds kappa_max from above, and at very
    # negative kappa the entropy is log 2 (every configuration is a solution).
    k_ann = -float(optimize.brentq(lambda x: float(log_H(-x)) + LOG_2 / alpha, -40.0, 40.0))

    def f(k: float) -> float:
        s = _entropy_at(alpha, k)
        return -math.inf if math.isnan(s) else s

    lo = k_ann - 1.0
    while f(lo) <= 0:
        lo -= 1.0
    # The RS saddle exists only below the Gardner-Derrida line alpha = 2 / (pi I(kappa));
    # I decreases with kappa, so the line crosses this alpha at a single kappa_GD, where
    # s_RS < 0 like everywhere above capacity.
    hi = k_ann
    target = 2.0 / (math.pi * alpha)
    if _gardner_integral(hi) >= target:
        k_gd = optimize.brentq(lambda x: _gardner_integral(x) - target, lo - 40.0, hi,
                               xtol=1e-15)
        hi = k_gd - 1e-9 * max(1.0, abs(k_gd))
    return _safe_root(f, lo, hi, guess)


def max_margin(alpha: Any) -> Any:
    """Largest margin ``kappa_max(alpha)`` with solutions: root of ``s_RS(alpha, kappa) = 0``.

    The inverse of :func:`capacity` (Krauth-Mezard zero-entropy criterion); the most robust
    references of the Franz-Parisi construction (Baldassi et al. 2021, PHYSICS.md
    section 4) have this margin. ``alpha`` must be > 0.
    """
    a = check_alpha(alpha)
    if np.any(a == 0):
        raise ValueError("alpha=0.0 is not allowed: max_margin needs alpha > 0 "
                         "(every margin has solutions at alpha = 0)")
    out = np.empty(a.shape)
    guess = None
    for idx in np.ndindex(a.shape):
        guess = _max_margin_scalar(float(a[idx]), guess)
        out[idx] = guess
    return float(out) if out.ndim == 0 else out


def _margin_terms(delta: np.ndarray, alpha: float, kappa: float):
    """Common pieces of the RS stability density: the saddle ``q`` and quadrature nodes."""
    res = rs_entropy(alpha, kappa)
    q = res.q
    sq, sr = math.sqrt(q), math.sqrt(1.0 - q)
    centers = [kappa / sq] if sq > 0 else []
    widths = [sr / sq] if sq > 0 else []
    z, w = gauss_rule(centers, widths)
    return res, sq, sr, z, w


def margin_density(delta: Any, alpha: Any, kappa: Any = 0.0) -> Any:
    """RS density of the stabilities ``Delta`` of a typical solution.

    ``rho(Delta) = theta(Delta - kappa) E_z N((Delta - sqrt(q) z)/sqrt(1-q)) /
    (sqrt(1-q) H((kappa - sqrt(q) z)/sqrt(1-q)))`` with ``q`` the RS saddle point
    (PHYSICS.md section 3; Gardner and Derrida 1988, section 4). It integrates to 1 and
    jumps from 0 at ``Delta = kappa``. ``delta`` may be an array; ``alpha`` and ``kappa``
    are scalars.
    """
    x = np.asarray(delta, dtype=float)
    a = float(check_alpha(alpha))
    k = float(check_kappa(kappa))
    _, sq, sr, z, w = _margin_terms(x, a, k)
    lh = log_H((k - sq * z) / sr)
    b = (x.reshape(-1, 1) - sq * z) / sr
    dens = np.exp(-0.5 * b * b - 0.5 * math.log(2 * math.pi) - lh) @ w / sr
    out = np.where(x.reshape(-1) >= k, dens, 0.0).reshape(x.shape)
    return float(out) if out.ndim == 0 else out


def margin_cdf(delta: Any, alpha: Any, kappa: Any = 0.0) -> Any:
    """Cumulative distribution of the RS stabilities: ``P(Delta' <= delta)``.

    ``F(Delta) = E_z [1 - H(b) / H(a)]`` for ``Delta >= kappa`` with
    ``b = (Delta - sqrt(q) z)/sqrt(1-q)`` and ``a = (kappa - sqrt(q) z)/sqrt(1-q)``: the
    integral of :func:`margin_density` in closed form. Differences of the CDF at bin edges
    give histogram-ready bin probabilities.
    """
    x = np.asarray(delta, dtype=float)
    a = float(check_alpha(alpha))
    k = float(check_kappa(kappa))
    _, sq, sr, z, w = _margin_terms(x, a, k)
    la = log_H((k - sq * z) / sr)
    lb = log_H((x.reshape(-1, 1) - sq * z) / sr)
    cdf = 1.0 - np.exp(lb - la) @ w
    out = np.where(x.reshape(-1) >= k, np.clip(cdf, 0.0, 1.0), 0.0).reshape(x.shape)
    return float(out) if out.ndim == 0 else out
