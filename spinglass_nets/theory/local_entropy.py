"""Franz-Parisi local entropy of the binary perceptron around typical or robust references.

A reference ``w~`` is drawn uniformly among the solutions of margin ``kappa_ref``; the local
entropy counts the solutions of margin ``kappa <= kappa_ref`` at Hamming distance ``d`` from
it, ``S(d) = (1/N) E log #{w : Delta >= kappa, w.w~/N = 1 - 2d}``. Replica-symmetric
Franz-Parisi potential (Huang and Kabashima 2014, Phys. Rev. E 90, 052813, eqs. 5-9 for
``kappa_ref = kappa``; Baldassi, Della Vecchia, Lucibello and Zecchina 2021 (PRL 123,
170602 / "Unveiling the structure of wide flat minima") eqs. 3-5 for ``kappa_ref > kappa``;
PHYSICS.md section 4), with the reference's RS saddle ``(q0, q0^)`` at
``(alpha, kappa_ref)``:

    S(p) = extr [ q^ q/2 - q^/2 - p^ p + t^ t
                  + E_z0 sum_{w~} P(w~|g1) E_z1 log 2cosh(h)
                  + alpha E_z0 (1/H(A)) int_{eta > A} D eta E_z1 log H((kappa - y)/sqrt(1-q)) ],

    g1 = sqrt(q0^) z0, P(w~|g1) = e^{g1 w~} / (2 cosh g1),
    h = (t^/sqrt(q0^)) z0 + b z1 + (p^ - t^) w~,   b^2 = q^ - t^2/q0^,
    A = (kappa_ref - sqrt(q0) z0)/sqrt(1-q0),   y = c0 z0 + c1 eta + c2 z1,
    c0 = t/sqrt(q0), c1 = (p - t)/sqrt(1-q0), c2^2 = q - t^2/q0 - (p - t)^2/(1-q0).

The (eta, z1) integral is reduced to one dimension: ``v = c1 eta + c2 z1`` restricted to
``eta > A`` has the density ``N(v/s) H((A s^2 - c1 v)/(c2 s)) / (s H(A))`` with
``s^2 = c1^2 + c2^2`` (a Gaussian convolved with a truncated Gaussian). The stationarity
equations, obtained by Gaussian integration by parts (derivation in ``docs_theory.md``), are

    q = E tanh^2 h,  t = E tanh h tanh g1,  p = E w~ tanh h,
    q^ = alpha E <Phi'(y)^2>,  t^ = -alpha dG_E/dt,

with ``Phi(y) = log H((kappa - y)/sqrt(1-q))``; the derivative of the local entropy along
the curve follows from the envelope theorem, ``dS/dp = -p^ + alpha dG_E/dp``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from spinglass_nets.errors import ConvergenceWarning
from spinglass_nets.theory._special import (
    GH,
    SADDLE_TOL,
    check_alpha,
    check_d,
    check_kappa,
    log_2cosh,
    log_H,
    log_N,
    panel_rule,
    warn_not_converged,
)
from spinglass_nets.theory.rs import _solve_scalar, max_margin

__all__ = ["LocalEntropyResult", "local_entropy", "binary_entropy", "flat_minima_threshold"]

# Quadrature used for the two-dimensional integrals: Gauss-Legendre order and number of
# uniform panels. Checked against a rule twice as fine in tests/test_theory_local_entropy.py.
_N_OUTER, _U_OUTER = 10, 8
_N_INNER, _U_INNER = 10, 8
# Gaussian variables are integrated over [-9, 9]: N(9) ~ 1e-18, negligible against the
# 1e-10 target even after multiplication by the (polynomially growing) integrands.
_Z = 9.0
# Largest continuation step in d, absolute and relative to the distance from d = 0.
_STEP_ABS = 0.01
_STEP_REL = 0.3
# A failed step is halved until it is this fraction of the largest step, then its target is
# given up.
_STEP_MIN_FRAC = 1.0 / 256.0
# Number of converged points the continuation extrapolates from (a cubic).
_N_EXTRAP = 4


def binary_entropy(d: Any) -> Any:
    """``H2(d) = -d log d - (1-d) log(1-d)``: the log-volume of the shell at distance ``d``."""
    x = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.where(x > 0, x * np.log(x), 0.0) - np.where(x < 1, (1 - x) * np.log1p(-x), 0.0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class LocalEntropyResult:
    """Franz-Parisi local entropy along a curve in ``d``.

    Attributes
    ----------
    d : float or ndarray
        Hamming distance fractions (as requested).
    entropy : float or ndarray
        ``S(d)`` per weight, nats.
    dS_dd : float or ndarray
        Slope of the curve, ``-2 dS/dp = 2 (p^ - alpha dG_E/dp)`` (envelope theorem).
    q, t, q_hat, t_hat, p_hat : float or ndarray
        Order parameters (see the module docstring).
    converged : bool or ndarray
        Whether each saddle point has ``residual < 1e-10``.
    residual : float or ndarray
        Largest stationarity violation, each equation scaled by ``max(1, |value|)``.
    alpha, kappa, kappa_ref, q0, q0_hat : float
        Parameters and the reference's RS saddle point.
    d_max, entropy_max : float
        Where the curve peaks and its value there (``= s_RS(alpha, kappa)``).
    """

    d: Any
    entropy: Any
    dS_dd: Any
    q: Any
    t: Any
    q_hat: Any
    t_hat: Any
    p_hat: Any
    converged: Any
    residual: Any
    alpha: float
    kappa: float
    kappa_ref: float
    q0: float
    q0_hat: float
    d_max: float
    entropy_max: float


class _FP:
    """Franz-Parisi integrals at fixed (alpha, kappa, kappa_ref, q0, q0^)."""

    def __init__(self, alpha: float, kappa: float, kappa_ref: float, q0: float, q0h: float,
                 refine: int = 1):
        self.alpha, self.kappa, self.kappa_ref = alpha, kappa, kappa_ref
        self.q0, self.q0h = q0, q0h
        self.sq0, self.sr0 = math.sqrt(q0), math.sqrt(1.0 - q0)
        self.sq0h = math.sqrt(q0h)
        self.n_out, self.u_out = _N_OUTER * refine, _U_OUTER * refine
        self.n_in, self.u_in = _N_INNER * refine, _U_INNER * refine

    def _outer(self, centers, widths):
        x, w = panel_rule(-_Z, _Z, np.asarray(centers, float)[None, :],
                          np.asarray(widths, float)[None, :], n=self.n_out, n_uniform=self.u_out)
        return x[0], w[0] * np.exp(log_N(x[0]))

    def entropic(self, qh: float, th: float, ph: float):
        """``G_S`` and the right-hand sides of the q, t and p equations."""
        b = math.sqrt(max(qh - th * th / self.q0h, 0.0))
        a = th / self.sq0h
        shift = ph - th
        with np.errstate(divide="ignore"):
            za = abs(shift / a) if a != 0 else math.inf
            wa = max(1.0, b) / abs(a) if a != 0 else math.inf
        z0, w0 = self._outer([0.0, za, -za], [1.0 / self.sq0h, wa, wa])
        tg = np.tanh(self.sq0h * z0)
        gs = q_c = t_new = p_new = 0.0
        for wt in (1.0, -1.0):
            mu = a * z0 + shift * wt
            with np.errstate(divide="ignore", invalid="ignore"):
                c = -mu / b if b > 0 else np.full_like(mu, np.inf)
                wd = np.full_like(mu, 1.0 / b if b > 0 else np.inf)
            z1, w1 = panel_rule(-_Z, _Z, c[:, None], wd[:, None], n=self.n_in,
                                n_uniform=self.u_in)
            w1 = w1 * np.exp(log_N(z1))
            h = mu[:, None] + b * z1
            e = np.exp(-2.0 * np.abs(h))
            th_h = np.sign(h) * (1.0 - e) / (1.0 + e)
            sech2 = 4.0 * e / (1.0 + e) ** 2
            pw = w0 * 0.5 * (1.0 + wt * tg)
            gs += float(pw @ np.sum(w1 * log_2cosh(h), axis=1))
            q_c += float(pw @ np.sum(w1 * sech2, axis=1))
            m1 = np.sum(w1 * th_h, axis=1)
            t_new += float(pw @ (m1 * tg))
            p_new += float(pw @ (m1 * wt))
        return gs, 1.0 - q_c, t_new, p_new

    def energetic(self, q: float, t: float, p: float):
        """``G_E`` and its derivatives with respect to q, t and p."""
        k, kr = self.kappa, self.kappa_ref
        sq0, sr0 = self.sq0, self.sr0
        c1 = (p - t) / sr0
        c2 = math.sqrt(max(q - t * t / self.q0 - c1 * c1, 0.0))
        s = math.sqrt(c1 * c1 + c2 * c2)
        sr = math.sqrt(1.0 - q)
        slope = t / sq0 - c1 * sq0 / sr0
        with np.errstate(divide="ignore", invalid="ignore"):
            z_low = (k - c1 * kr / sr0) / slope if slope != 0 else math.inf
            w_low = (sr + c2 + s) / abs(slope) if slope != 0 else math.inf
            z_m = k * sq0 / t if t != 0 else math.inf
            w_m = (sr + s) * sq0 / abs(t) if t != 0 else math.inf
        z0, w0 = self._outer([kr / sq0, z_low, z_m], [sr0 / sq0, w_low, w_m])
        big_a = (kr - sq0 * z0) / sr0
        m = (t / sq0) * z0
        lha = log_H(big_a)
        gha = GH(big_a)
        # Inner integral over v = c1 eta + c2 z1 restricted to eta > A.
        mu = c1 * gha
        with np.errstate(divide="ignore", invalid="ignore"):
            v_t = big_a * s * s / c1 if c1 != 0 else np.full_like(z0, np.inf)
            w_t = np.full_like(z0, c2 * s / abs(c1) if c1 != 0 else np.inf)
        if s > 0:
            cen = np.stack([v_t, k - m], axis=1)
            wid = np.stack([w_t, np.full_like(z0, sr)], axis=1)
            v, wv = panel_rule(mu - _Z * s, mu + _Z * s, cen, wid, n=self.n_in,
                               n_uniform=self.u_in)
            with np.errstate(divide="ignore", invalid="ignore"):
                trunc = (big_a[:, None] * s * s - c1 * v) / (c2 * s)
            # 0/0 only at zero-width panels (c2 = 0), whose weights vanish anyway.
            trunc = np.where(np.isnan(trunc), 0.0, trunc)
            log_rho = log_N(v / s) - math.log(s) + log_H(trunc) - lha[:, None]
            wv = wv * np.exp(log_rho)
        else:
            # Constrained replica identical in distribution to a typical one (the exact
            # typical-reference peak): y = m, no inner integral.
            v, wv = np.zeros((z0.size, 1)), np.ones((z0.size, 1))
        warg = (k - m[:, None] - v) / sr
        phi = log_H(warg)
        g = GH(warg)
        d1 = g / sr
        d2 = -g * (g - warg) / (1.0 - q)
        i0 = np.sum(wv * phi, axis=1)
        i1 = np.sum(wv * d1, axis=1)
        i2 = np.sum(wv * d1 * d1, axis=1)
        i3 = np.sum(wv * d2, axis=1)
        # Boundary term: E_z1 Phi'(y) with the reference field exactly at kappa_ref.
        yb = m + c1 * big_a
        with np.errstate(divide="ignore", invalid="ignore"):
            cb = (k - yb) / c2 if c2 > 0 else np.full_like(z0, np.inf)
            wb = np.full_like(z0, sr / c2 if c2 > 0 else np.inf)
        z1, w1 = panel_rule(-_Z, _Z, cb[:, None], wb[:, None], n=self.n_in,
                            n_uniform=self.u_in)
        w1 = w1 * np.exp(log_N(z1))
        bnd = np.sum(w1 * GH((k - yb[:, None] - c2 * z1) / sr), axis=1) / sr
        bterm = gha * bnd / sr0
        ge = float(w0 @ i0)
        dq = -0.5 * float(w0 @ i2)
        dt = float(w0 @ ((z0 / sq0) * i1 - (t / self.q0) * i3 - bterm))
        dp = float(w0 @ bterm)
        return ge, dq, dt, dp

    def jacobian(self, y: np.ndarray, p: float, f: np.ndarray) -> np.ndarray:
        """Forward-difference Jacobian of the residual in the solver's variables ``y``.

        Uses the block structure of the equations: the entropic right-hand sides depend on
        ``(q^, t^, p^)`` only, the energetic ones on ``(q, t)`` only, and the rest is
        explicit. Costs three entropic and two energetic integrals (about 2.4 full
        evaluations instead of 5).
        """
        x = _from_internal(self, y, p)
        q, t, qh, th, ph = (float(v) for v in x)
        if not (q < 1.0 and np.all(np.isfinite(f)) and np.all(np.isfinite(x))):
            return -np.eye(5)  # outside the domain: any model; the line search rejects it
        dxdy = np.eye(5)
        dxdy[0, 0] = math.exp(min(float(y[0]), 700.0))
        dxdy[0, 1] = 2.0 * t / self.q0 - 2.0 * (p - t) / (1.0 - self.q0)
        dxdy[2, 2] = math.exp(min(float(y[2]), 700.0))
        dxdy[2, 3] = 2.0 * th / self.q0h
        # Right-hand sides at the base point, recovered from the residual.
        rhs = f + np.array([q, t, p, qh, th])
        a = self.alpha
        jac = np.zeros((5, 5))
        for j in range(5):
            hj = 1e-7 * max(1.0, abs(float(y[j])))
            yj = np.array(y, dtype=float)
            yj[j] += hj
            xj = _from_internal(self, yj, p)
            if not xj[0] < 1.0:
                # Close to q = 1 (d -> 0): step the other way.
                hj = -hj
                yj[j] = float(y[j]) + hj
                xj = _from_internal(self, yj, p)
            if j in (0, 1):
                _, dq, dt, _ = self.energetic(float(xj[0]), float(xj[1]), p)
                jac[3:, j] = (np.array([-2.0 * a * dq, -a * dt]) - rhs[3:]) / hj
            else:
                _, q_new, t_new, p_new = self.entropic(float(xj[2]), float(xj[3]), float(xj[4]))
                jac[:3, j] = (np.array([q_new, t_new, p_new]) - rhs[:3]) / hj
        # Explicit parts: F = rhs - (q, t, p, q^, t^), with p fixed.
        jac[:2, :] -= dxdy[:2, :]
        jac[3:, :] -= dxdy[2:4, :]
        return jac

    def evaluate(self, x: np.ndarray, p: float):
        """All pieces at ``x = (q, t, q^, t^, p^)``: free entropy, residual vector, slope."""
        q, t, qh, th, ph = (float(v) for v in x)
        gs, q_new, t_new, p_new = self.entropic(qh, th, ph)
        ge, dq, dt, dp = self.energetic(q, t, p)
        a = self.alpha
        free = 0.5 * qh * q - 0.5 * qh - ph * p + th * t + gs + a * ge
        f = np.array([q_new - q, t_new - t, p_new - p, -2.0 * a * dq - qh, -a * dt - th])
        slope_p = -ph + a * dp
        return free, f, slope_p

    def feasible(self, x: np.ndarray, p: float) -> bool:
        q, t, qh, th, _ = (float(v) for v in x)
        c2sq = q - t * t / self.q0 - (p - t) ** 2 / (1.0 - self.q0)
        return 0.0 < q < 1.0 and c2sq >= -1e-12 and qh - th * th / self.q0h >= -1e-12


def _scaled(f: np.ndarray, x: np.ndarray) -> float:
    return float(np.max(np.abs(f) / np.maximum(1.0, np.abs(x))))


def _to_internal(fp: _FP, x: np.ndarray, p: float, floor: float = 1e-300) -> np.ndarray:
    """``(q, t, q^, t^, p^) -> (log c2^2, t, log b^2, t^, p^)``: positivity built in."""
    q, t, qh, th, ph = (float(v) for v in x)
    c2sq = q - t * t / fp.q0 - (p - t) ** 2 / (1.0 - fp.q0)
    bsq = qh - th * th / fp.q0h
    return np.array([math.log(max(c2sq, floor)), t, math.log(max(bsq, floor)), th, ph])


def _from_internal(fp: _FP, y: np.ndarray, p: float) -> np.ndarray:
    lc, t, lb, th, ph = (float(v) for v in y)
    q = t * t / fp.q0 + (p - t) ** 2 / (1.0 - fp.q0) + math.exp(min(lc, 700.0))
    qh = th * th / fp.q0h + math.exp(min(lb, 700.0))
    return np.array([q, t, qh, th, ph])


def _fd_jacobian(fun, y: np.ndarray, f: np.ndarray) -> np.ndarray:
    jac = np.empty((f.size, y.size))
    for j in range(y.size):
        h = 1e-7 * max(1.0, abs(y[j]))
        yj = y.copy()
        yj[j] += h
        jac[:, j] = (fun(yj) - f) / h
    return jac


def _newton(fun, y: np.ndarray, jac: np.ndarray | None, scale, tol: float, maxit: int = 40,
            jfun=None):
    """Newton-Broyden iteration with backtracking; the Jacobian is carried along a curve.

    Returns ``(y, f, jac, n_evaluations)``. A fresh finite-difference Jacobian is taken at
    the start when none is given and whenever a step fails to reduce the residual;
    ``jfun(y, f)``, when given, computes it instead of plain forward differences.
    """
    if jfun is None:
        jfun = lambda y, f: _fd_jacobian(fun, y, f)  # noqa: E731
    f = fun(y)
    nfev = 1
    if jac is None and not scale(f, y) < tol:
        jac = jfun(y, f)
        nfev += y.size
    fresh = True
    for _ in range(maxit):
        if scale(f, y) < tol:
            break
        try:
            dy = np.linalg.solve(jac, -f)
        except np.linalg.LinAlgError:
            dy = np.linalg.lstsq(jac, -f, rcond=None)[0]
        lam, norm0 = 1.0, float(np.linalg.norm(f))
        while True:
            y1 = y + lam * dy
            f1 = fun(y1)
            nfev += 1
            if np.all(np.isfinite(f1)) and np.linalg.norm(f1) < (1 - 1e-4 * lam) * norm0:
                break
            lam *= 0.25
            if lam < 1e-4:
                break
        if lam < 1e-4:
            if fresh:
                break
            jac = jfun(y, f)
            nfev += y.size
            fresh = True
            continue
        step = y1 - y
        # Broyden's rank-one update keeps the model Jacobian current without new evaluations.
        jac = jac + np.outer(f1 - f - jac @ step, step) / float(step @ step)
        y, f = y1, f1
        fresh = False
    return y, f, jac, nfev


def _solve_point(fp: _FP, p: float, guess: np.ndarray, jac: np.ndarray | None = None,
                 floor: float = 1e-14, internal: bool = False, fallback: bool = True):
    """Solve the five stationarity equations at overlap ``p`` from ``guess``.

    The unknowns are ``log c2^2`` and ``log b^2`` instead of ``q`` and ``q^``: both
    variances vanish where the constrained replica merges with its reference (d -> 0) or,
    for a typical reference, at the equilibrium distance, and the logarithms keep every
    iterate inside the region where the replicas' Gram matrix is positive. ``floor`` is the
    smallest variance put in the initial guess; ``internal=True`` means ``guess`` is already
    in the solver's variables (log-variances). Newton-Broyden first (fast along a curve),
    MINPACK's hybrid method as the fallback (``fallback=False``: Newton-Broyden only; the
    continuation shortens its step instead).
    """

    seen = {}

    def fun(y):
        x = _from_internal(fp, y, p)
        if not x[0] < 1.0:
            return np.full(5, 1e3)
        ev = fp.evaluate(x, p)
        seen[y.tobytes()] = ev
        return ev[1]

    def scale(f, y):
        return _scaled(f, _from_internal(fp, y, p))

    y0 = guess if guess.size == 5 and internal else _to_internal(fp, guess, p, max(floor, 1e-14))
    with np.errstate(over="ignore", invalid="ignore"):
        # Trial steps far outside the basin may overflow; they are rejected by the line search.
        y, f, jac, nfev = _newton(fun, y0, jac, scale, 0.1 * SADDLE_TOL, maxit=15,
                                  jfun=lambda y, f: fp.jacobian(y, p, f))
    if fallback and not scale(f, y) < SADDLE_TOL:
        start = y if np.all(np.isfinite(f)) and np.linalg.norm(f) < 1e2 else y0
        sol = optimize.root(fun, start, method="hybr", options={"xtol": 1e-14, "maxfev": 300})
        y, jac = sol.x, None
    x = _from_internal(fp, y, p)
    if x[0] < 1.0 and np.all(np.isfinite(x)):
        key = np.asarray(y, dtype=float).tobytes()
        free, f, slope = seen[key] if key in seen else fp.evaluate(x, p)
        res = _scaled(f, x)
        if not math.isfinite(res):
            res = math.inf
    else:
        free, slope, res = math.nan, math.nan, math.inf
    return x, free, slope, res, jac, y


def _solve_max(fp: _FP, q1: float, q1h: float):
    """The peak of S(d), where the constrained replicas decouple from their reference.

    At ``p = t`` and ``p^ = t^`` the free entropy reduces to ``s_RS(alpha, kappa)`` for any
    ``(t, t^)``, so ``q, q^`` are the RS saddle ``(q1, q1^)`` at margin ``kappa``; the
    remaining unknowns solve ``t = E tanh(h) tanh(g1)`` and ``dS/dp = 0``.
    """

    def full(y):
        t, th = float(y[0]), float(y[1])
        return np.array([q1, t, q1h, th, th]), t

    def fun(y):
        x, p = full(y)
        if not (0.0 < p < 1.0) or not fp.feasible(x, p):
            return np.full(2, 1e3)
        _, f, slope = fp.evaluate(x, p)
        return np.array([f[1], slope])

    # Start inside the feasible region: t^2 < q0 q1 keeps c2^2 = q1 - t^2/q0 positive.
    guess = 0.9 * np.array([math.sqrt(fp.q0 * q1), math.sqrt(fp.q0h * q1h)])
    sol = optimize.root(fun, guess, method="hybr", options={"xtol": 1e-14, "maxfev": 200})
    return full(sol.x)

def _reference(alpha: float, kappa_ref: float):
    s0, q0, q0h, ok, res, _ = _solve_scalar(alpha, kappa_ref, warn=False)
    if not ok:
        raise ValueError(f"kappa_ref={kappa_ref!r} is not allowed at alpha={alpha!r}: the "
                         "reference's RS saddle point does not exist (alpha beyond the "
                         "Gardner-Derrida point)")
    if s0 < -1e-9:
        raise ValueError(f"kappa_ref={kappa_ref!r} is not allowed at alpha={alpha!r}: no "
                         f"reference solutions exist (s_RS = {s0:.3g} < 0); use "
                         "kappa_ref <= max_margin(alpha)")
    return q0, q0h


def _peak_expansion(fp: _FP):
    """Second-order Taylor expansion of the typical-reference branch around its peak d_eq.

    In the regular variables ``r = (c2^2, t, b^2, t^, p^)`` the stationarity equations
    ``F(r, delta) = 0`` (``delta = d - d_eq``, ``p = q0 - 2 delta``) are analytic at the peak
    ``r0 = (0, q0, 0, q0^, q0^)``, and their Jacobian ``J`` there is regular: the branch is
    ``r(delta) = r0 + delta r1 + delta^2 r2 + O(delta^3)`` with ``r1 = -J^-1 F_delta`` and
    ``r2 = -J^-1 F_ss / 2``, ``F_ss`` the second derivative along ``(r1, 1)``. The variance
    components of ``r1`` vanish (up to rounding): c2^2 and b^2 grow like ``delta^2``, with the
    coefficients ``r2[0]``, ``r2[2]``. Costs 11 evaluations; the variance columns of ``J`` are
    one-sided (negative variances are outside the domain).
    """
    q0, q0h = fp.q0, fp.q0h

    def fun(r, delta):
        c2sq, t, bsq, th, ph = (float(v) for v in r)
        p = q0 - 2.0 * delta
        q = t * t / q0 + (p - t) ** 2 / (1.0 - q0) + c2sq
        return fp.evaluate(np.array([q, t, th * th / q0h + bsq, th, ph]), p)[1]

    r0 = np.array([0.0, q0, 0.0, q0h, q0h])
    f0 = fun(r0, 0.0)
    jac = np.empty((5, 5))
    h = 1e-5
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        if j in (0, 2):
            jac[:, j] = (-3.0 * f0 + 4.0 * fun(r0 + e, 0.0) - fun(r0 + 2.0 * e, 0.0)) / (2.0 * h)
        else:
            jac[:, j] = (fun(r0 + e, 0.0) - fun(r0 - e, 0.0)) / (2.0 * h)
    f_d = (fun(r0, h) - fun(r0, -h)) / (2.0 * h)
    r1 = -np.linalg.solve(jac, f_d)
    r1[[0, 2]] = 0.0
    hs = 2e-3
    f_ss = (fun(r0 + hs * r1, hs) - 2.0 * f0 + fun(r0 - hs * r1, -hs)) / hs**2
    r2 = -0.5 * np.linalg.solve(jac, f_ss)
    return r0, r1, r2


def _continuation(fp: _FP, x_start: np.ndarray, d_start: float, targets: np.ndarray,
                  degenerate: bool):
    """Solve at each target d (sorted away from d_start) by continuation with extrapolation.

    ``degenerate``: the start is the typical-reference peak, where the variances c2^2 and
    b^2 vanish like ``(d - d_eq)^2``. The curve is then followed in the regular variables
    ``w = (log c2^2 - 2 log|delta|, t, log b^2 - 2 log|delta|, t^, p^)`` (``delta = d - d_eq``),
    which have a finite limit at the peak, and the first guesses come from the peak's Taylor
    expansion (:func:`_peak_expansion`). Steps never pass a failed point: a failed step is
    halved and retried from the last converged point; a target is given up (and reported
    unconverged) only below the minimum step (a fraction ``_STEP_MIN_FRAC`` of the largest
    step), after a last try with MINPACK's ``hybr``. Predictions extrapolate a polynomial
    through the last ``_N_EXTRAP`` converged points (a cubic: errors ~1e-7 at steps of 0.005),
    and each point's Newton iteration starts from a fresh block-structured Jacobian
    (:meth:`_FP.jacobian`, ~2.4 evaluations): a Jacobian carried along the curve by Broyden
    updates drifts (the system is ill-conditioned, cond ~ 1e3) and needs ~8 iterations per
    point instead of 1-2.
    """
    p_of = lambda d: 1.0 - 2.0 * d  # noqa: E731
    if degenerate:
        r0, r1, r2 = _peak_expansion(fp)
        lc0 = math.log(r2[0]) if r2[0] > 0 else 0.0
        lb0 = math.log(r2[2]) if r2[2] > 0 else 0.0

        def shift(d):
            return 2.0 * math.log(abs(d - d_start))

        def taylor(d):
            dl = d - d_start
            r = r0 + dl * r1 + dl * dl * r2
            return np.array([lc0, r[1], lb0, r[3], r[4]])
    else:
        def shift(d):
            return 0.0

    def to_y(w, d):
        s = shift(d)
        return w + np.array([s, 0.0, s, 0.0, 0.0])

    def to_w(y, d):
        s = shift(d)
        return y - np.array([s, 0.0, s, 0.0, 0.0])

    hist = [] if degenerate else [(d_start, _to_internal(fp, x_start, p_of(d_start)))]

    def predict(d):
        if len(hist) >= 2:
            # Polynomial through the last (up to four) converged points, Newton's form.
            ds = [h_[0] for h_ in hist]
            coef = [h_[1] for h_ in hist]
            for k in range(1, len(hist)):
                coef[k:] = [(coef[i] - coef[i - 1]) / (ds[i] - ds[i - k])
                            for i in range(k, len(hist))]
            w = coef[-1]
            for k in range(len(hist) - 2, -1, -1):
                w = coef[k] + (d - ds[k]) * w
        elif degenerate:
            w = taylor(d)
            if hist:
                w = w + (hist[-1][1] - taylor(hist[-1][0]))
        else:
            w = hist[-1][1]
        return to_y(w, d)

    out = []
    d_cur = d_start
    h = _STEP_ABS
    stuck = False
    for d_t in targets:
        if d_t == d_start:
            # The peak itself: known exactly, nothing to solve.
            free, f, slope = fp.evaluate(x_start, p_of(d_start))
            out.append((x_start, free, -2.0 * slope, _scaled(f, x_start)))
            continue
        while True:
            dist = abs(d_t - d_cur)
            cap = min(_STEP_ABS, _STEP_REL * d_cur)
            hh = min(h, cap, dist)
            d_next = d_t if hh >= dist else d_cur + math.copysign(hh, d_t - d_cur)
            last = stuck or hh <= cap * _STEP_MIN_FRAC
            x, free, slope, res, _, y = _solve_point(fp, p_of(d_next), predict(d_next), None,
                                                     internal=True, fallback=last)
            if res < SADDLE_TOL:
                stuck = False
                hist = hist[-(_N_EXTRAP - 1):] + [(d_next, to_w(y, d_next))]
                d_cur = d_next
                if hh >= h:
                    h = min(1.5 * h, _STEP_ABS)
                if d_next == d_t:
                    break
                continue
            if last:
                # Give up on this target (reported unconverged); later targets restart from
                # the last converged point with one attempt each.
                if d_next != d_t:
                    x, free, slope, res, _, _ = _solve_point(fp, p_of(d_t), predict(d_t), None,
                                                             internal=True)
                stuck = True
                break
            h = 0.5 * hh
        out.append((x, free, -2.0 * slope, res))
    return out


def local_entropy(d: Any, alpha: float, kappa: float = 0.0,
                  kappa_ref: float | str | None = None) -> LocalEntropyResult:
    """Franz-Parisi local entropy ``S(d)`` around references of margin ``kappa_ref``.

    Replica-symmetric Franz-Parisi potential (Huang and Kabashima 2014, eqs. 5-9; Baldassi
    et al. 2021, eqs. 3-5; PHYSICS.md section 4), solved by continuation in ``d`` from the
    peak of the curve, where the constrained replicas decouple from the reference
    (``p = t``, ``p^ = t^``) and ``S = s_RS(alpha, kappa)``. For ``kappa_ref = kappa`` the
    peak is the equilibrium distance ``d_eq = (1 - q0)/2``, known in closed form.

    Parameters
    ----------
    d : float or array_like
        Hamming distance fractions in ``[0, 1/2]``. ``S(0) = 0`` (the reference itself).
    alpha : float
        Load, ``> 0``.
    kappa : float
        Margin of the counted solutions.
    kappa_ref : float, "max" or None
        Margin of the reference, ``>= kappa``. ``None``: typical reference
        (``kappa_ref = kappa``); ``"max"``: the most robust references,
        ``kappa_ref = max_margin(alpha)``.

    Returns
    -------
    LocalEntropyResult
        Points that fail to converge warn (``ConvergenceWarning``) and carry
        ``converged=False``; a scan is never interrupted.

    Examples
    --------
    >>> r = local_entropy([0.01, 0.05], 0.5, kappa=0.0, kappa_ref=0.3)
    >>> bool(r.converged.all())
    True
    """
    dd = check_d(d)
    a = float(check_alpha(alpha))
    if a <= 0:
        raise ValueError(f"alpha={a!r} is not allowed: the local entropy needs alpha > 0")
    k = float(check_kappa(kappa))
    if kappa_ref is None:
        kr = k
    elif isinstance(kappa_ref, str):
        if kappa_ref != "max":
            raise ValueError(f"kappa_ref={kappa_ref!r} is not allowed: use a number, None "
                             "or 'max'")
        kr = float(max_margin(a))
    else:
        kr = float(check_kappa(kappa_ref, name="kappa_ref"))
    if kr < k:
        raise ValueError(f"kappa_ref={kr!r} is not allowed: kappa_ref must be >= kappa={k!r}")
    q0, q0h = _reference(a, kr)
    fp = _FP(a, k, kr, q0, q0h)
    s1, q1, q1h, ok1, _, _ = _solve_scalar(a, k)
    if kr == k:
        x_max = np.array([q0, q0, q0h, q0h, q0h])
        p_max = q0
    else:
        x_max, p_max = _solve_max(fp, q1, q1h)
    d_max = 0.5 * (1.0 - p_max)
    flat = np.atleast_1d(dd).ravel()
    order = np.argsort(flat)
    n = flat.size
    vals = np.full((8, n), np.nan)
    below = [i for i in order if flat[i] < d_max][::-1]
    above = [i for i in order if flat[i] >= d_max]
    for group in (below, above):
        positive = [i for i in group if flat[i] > 0]
        sols = (_continuation(fp, x_max, d_max, flat[positive], kr == k)
                if positive else [])
        for i, (x, free, slope, res) in zip(positive, sols):
            vals[:, i] = (free, slope, *x, res)
        for i in group:
            if flat[i] == 0:
                # The reference alone: one configuration, zero entropy, q = 1.
                vals[:, i] = (0.0, math.nan, 1.0, q0, math.inf, q0h, math.inf, 0.0)
    conv = vals[7] < SADDLE_TOL
    if not np.all(conv):
        with warnings.catch_warnings():
            warnings.simplefilter("always", ConvergenceWarning)
            warn_not_converged(f"local_entropy(alpha={a}, kappa={k}, kappa_ref={kr}) at "
                               f"{int(np.sum(~conv))} of {n} distances",
                               float(np.nanmax(vals[7])))
    scalar = dd.ndim == 0

    def shape(v):
        v = v.reshape(dd.shape)
        return float(v) if scalar else v

    return LocalEntropyResult(
        d=shape(flat.copy()), entropy=shape(vals[0]), dS_dd=shape(vals[1]), q=shape(vals[2]),
        t=shape(vals[3]), q_hat=shape(vals[4]), t_hat=shape(vals[5]), p_hat=shape(vals[6]),
        converged=bool(conv[0]) if scalar else conv.reshape(dd.shape),
        residual=shape(vals[7]), alpha=a, kappa=k, kappa_ref=kr, q0=q0, q0_hat=q0h,
        d_max=d_max, entropy_max=float(s1),
    )


def _min_slope(alpha: float, kappa: float, d_grid: np.ndarray) -> float:
    """Smallest dS/dd on ``d_grid`` for references of margin ``max_margin(alpha)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = local_entropy(d_grid, alpha, kappa=kappa, kappa_ref="max")
    ok = res.converged & (res.d < 0.8 * res.d_max)
    if not np.any(ok):
        return math.nan
    return float(np.min(res.dS_dd[ok]))


def flat_minima_threshold(kappa: float = 0.0, alpha_bracket: tuple = (0.71, 0.74),
                          d_min: float = 0.004, n_d: int = 40, xtol: float = 1e-3) -> dict:
    """Load where the local entropy around the most robust references stops being monotone.

    Criterion (PHYSICS.md section 4; Baldassi et al. 2021): ``kappa_ref = max_margin(alpha)``
    (references of zero RS entropy, the most robust solutions) and ``S(d)`` from the RS
    Franz-Parisi potential of :func:`local_entropy`; ``alpha_LE`` is the smallest ``alpha``
    at which ``dS/dd`` vanishes somewhere in ``(d_min, d_max)``, i.e. a local maximum and a
    dip appear at small ``d``. This is the RS Franz-Parisi number (about 0.73 in the
    literature); the 0.77-0.78 values belong to large-deviation ensembles (references that
    maximise their local entropy) and are a different criterion.

    Parameters
    ----------
    kappa : float
        Margin of the counted solutions.
    alpha_bracket : tuple of float
        Interval containing the threshold.
    d_min, n_d : float, int
        The slope is scanned on ``n_d`` geometric points from ``d_min`` to ``0.25``.
    xtol : float
        Tolerance on ``alpha``.

    Returns
    -------
    dict
        ``alpha_LE``, ``criterion``, ``ensemble``, ``kappa_ref`` (= max_margin at alpha_LE),
        ``kappa``, ``d_min``.
    """
    k = float(check_kappa(kappa))
    grid = np.geomspace(d_min, 0.25, n_d)
    lo, hi = alpha_bracket
    f_lo, f_hi = _min_slope(lo, k, grid), _min_slope(hi, k, grid)
    if not (f_lo > 0 > f_hi):
        raise ValueError(f"alpha_bracket={alpha_bracket!r} is not allowed: min dS/dd is "
                         f"{f_lo:.3g} and {f_hi:.3g} at its ends; it must change sign")
    alpha_le = optimize.brentq(lambda a: _min_slope(a, k, grid), lo, hi, xtol=xtol)
    return {
        "alpha_LE": float(alpha_le),
        "criterion": "smallest alpha with dS/dd = 0 for some d in (d_min, d_max): loss of "
                     "monotonicity of the RS Franz-Parisi local entropy",
        "ensemble": "references uniform among solutions of margin kappa_ref = "
                    "max_margin(alpha) (zero RS entropy); RS Franz-Parisi",
        "kappa_ref": float(max_margin(alpha_le)),
        "kappa": k,
        "d_min": d_min,
    }
