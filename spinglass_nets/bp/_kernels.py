"""Numba kernels of belief propagation for the binary perceptron.

Two message representations share the special functions at the top of this file:

- **edge BP**: one cavity message ``u[mu, i]`` per (pattern, weight) pair, with the
  Gaussian approximation of the cavity sum ``sum_{j != i} F_{mu j} w_j`` (Braunstein and
  Zecchina, PRL 96, 030201 (2006), Eqs. (3)-(4)). Memory O(P N); used for small and
  medium instances and for the Bethe free entropy that tests compare with enumeration.
- **AMP** (relaxed BP / TAP form): the O(1/sqrt(N)) expansion of edge BP, which keeps only
  O(N + P) messages plus the Onsager reaction terms (Kabashima, J. Phys. A 36, 11111 (2003);
  Baldassi et al., PNAS 113, E7655 (2016), SI Eqs. for the "relaxed" fBP). Both passes over
  the couplings are written as axpy loops over contiguous rows (``c`` for the back
  projection, ``cT`` for the forward one) so they vectorise without reassociating sums
  (``fastmath`` stays off: same bits on every run).

Notation: ``F_{mu i} = y_mu xi_{mu i} / sqrt(N)`` (here ``c / sqrt(N)``), ``omega`` the mean and
``V`` the variance of the cavity pre-activation, ``x = (kappa - omega) / sqrt(V)``. A soft
constraint at inverse temperature beta has the factor ``eps + (1 - eps) theta(Delta - kappa)``
with ``eps = exp(-beta)``; ``log_eps = -inf`` is the hard constraint (beta = inf).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._numba import njit
from .._rng import draw_below, u64_to_unit, xoshiro_next

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG2 = math.log(2.0)
# Field cap: tanh(30) == 1 in float64, and capping keeps the differences h - u exact
# enough when a constraint becomes hard (V -> 0 makes the raw message diverge).
U_MAX = 30.0
V_MIN = 1e-12


# ----------------------------------------------------------------------- special functions
@njit
def log_h(x):
    """log H(x), H(x) = erfc(x / sqrt 2) / 2, stable for every real x.

    ``math.erfc`` keeps full relative accuracy until it underflows (x ~ 37), so it is used
    directly there; beyond, the asymptotic series of the Mills ratio (error < 1e-15 for
    x > 30); for x < 0, ``log1p(-H(-x))`` avoids the cancellation of ``log(1 - small)``.
    """
    if x < 0.0:
        return math.log1p(-0.5 * math.erfc(-x / _SQRT2))
    if x < 30.0:
        return math.log(0.5 * math.erfc(x / _SQRT2))
    z = 1.0 / (x * x)
    series = 1.0 - z * (1.0 - z * (3.0 - z * (15.0 - z * 105.0)))
    return -0.5 * x * x - math.log(x) - _LOG_SQRT_2PI + math.log(series)


@njit
def gh(x):
    """GH(x) = N(x) / H(x) (N the standard normal density), stable for every real x.

    Direct ratio for x < 25 (both factors are far from underflow); for larger x the
    inverse of the asymptotic Mills ratio ``H/N = 1/x - 1/x^3 + 3/x^5 - 15/x^7 + 105/x^9``
    (relative error < 1e-14 at x = 25, the role erfcx plays in scipy).
    """
    if x < 25.0:
        return math.exp(-0.5 * x * x - _LOG_SQRT_2PI) / (0.5 * math.erfc(x / _SQRT2))
    z = 1.0 / (x * x)
    mills = (1.0 - z * (1.0 - z * (3.0 - z * (15.0 - z * 105.0)))) / x
    return 1.0 / mills


@njit
def log_zout(x, log_eps):
    """log of ``eps + (1 - eps) H(x)``: the constraint factor averaged over the Gaussian
    cavity field. ``log_eps = -inf`` gives ``log H(x)``."""
    lh = log_h(x)
    if log_eps == -np.inf:
        return lh
    a = math.log1p(-math.exp(log_eps)) + lh
    m = max(a, log_eps)
    return m + math.log(math.exp(a - m) + math.exp(log_eps - m))


@njit
def r_out(x, log_eps):
    """``r = (1 - eps) N(x) / (eps + (1 - eps) H(x))``; equals GH(x) for eps = 0.

    With it, ``g = d log Zout / d omega = r / sqrt(V)`` and
    ``dg/d omega = r (x - r) / V``.
    """
    if log_eps == -np.inf:
        return gh(x)
    log_n = -0.5 * x * x - _LOG_SQRT_2PI
    return math.exp(math.log1p(-math.exp(log_eps)) + log_n - log_zout(x, log_eps))


@njit
def log2cosh(h):
    """log(2 cosh h) without overflow."""
    a = abs(h)
    return a + math.log1p(math.exp(-2.0 * a))


@njit
def focusing_field(h, tg, y):
    """Field from the y - 1 other replicas through the centre (Baldassi et al., PNAS 113,
    E7655 (2016), SI Eq. for fBP):
    ``atanh(tanh(gamma) tanh((y - 1) atanh(tanh(gamma) tanh(h))))``, ``tg = tanh(gamma)``.

    ``tg == 1`` (gamma = inf) is the exact limit ``(y - 1) h`` (standard reinforcement).
    """
    if y == 1.0:
        return 0.0
    if tg >= 1.0:
        f = (y - 1.0) * h
    else:
        inner = math.atanh(tg * math.tanh(h))
        f = math.atanh(tg * math.tanh((y - 1.0) * inner))
    if f > U_MAX:
        return U_MAX
    if f < -U_MAX:
        return -U_MAX
    return f


@njit
def focusing_fields(hpat, tg, y, out):
    """``out[i] = focusing_field(hpat[i], tg, y)`` for every weight."""
    for i in range(hpat.shape[0]):
        out[i] = focusing_field(hpat[i], tg, y)


# ------------------------------------------------------------------------------- edge BP
@njit
def edge_iterate(c, scale, kappa, log_eps, u, hpat, hext, damping, mrow):
    """One parallel sweep of edge BP; updates ``u`` (P, N) and ``hpat`` (N,) in place.

    Parameters
    ----------
    c : (P, N) float64, label-absorbed patterns ``y_mu xi_{mu i}``.
    scale : float, ``1 / sqrt(N)`` so that ``F = scale * c``.
    kappa : float, effective margin (continuity-corrected for binary patterns).
    log_eps : float, log exp(-beta) of the soft constraint (-inf: hard).
    u : (P, N) float64, factor-to-variable cavity fields ``u_{mu -> i}`` (damped update).
    hpat : (N,) float64, ``sum_mu u_{mu -> i}``; overwritten with the new sums.
    hext : (N,) float64, external (reference + focusing) field on each weight.
    damping : float in [0, 1), weight of the old message.
    mrow : (N,) float64 scratch.

    Returns
    -------
    float, the largest change of a full marginal ``tanh(hext + hpat)``.

    Notes
    -----
    ``m_{i -> mu} = tanh(h_i - u_{mu -> i})``; the cavity mean and variance of the
    pre-activation are ``omega - F m_{i -> mu}`` and ``V - F^2 (1 - m_{i -> mu}^2)``, and
    ``u_{mu -> i} = (1/2) log [Zout(x(+1)) / Zout(x(-1))]``,
    ``x(s) = (kappa - omega_c - F s) / sqrt(V_c)`` (Braunstein-Zecchina 2006, Eq. (4)).
    """
    p, n = c.shape
    htot = np.empty(n)
    for i in range(n):
        htot[i] = hext[i] + hpat[i]
    hnew = np.zeros(n)
    for mu in range(p):
        om = 0.0
        var = 0.0
        for i in range(n):
            m = math.tanh(htot[i] - u[mu, i])
            mrow[i] = m
            f = scale * c[mu, i]
            om += f * m
            var += f * f * (1.0 - m * m)
        for i in range(n):
            m = mrow[i]
            f = scale * c[mu, i]
            omc = om - f * m
            vc = var - f * f * (1.0 - m * m)
            if vc < V_MIN:
                vc = V_MIN
            sv = math.sqrt(vc)
            lp = log_zout((kappa - omc - f) / sv, log_eps)
            lm = log_zout((kappa - omc + f) / sv, log_eps)
            un = 0.5 * (lp - lm)
            if un > U_MAX:
                un = U_MAX
            elif un < -U_MAX:
                un = -U_MAX
            un = damping * u[mu, i] + (1.0 - damping) * un
            u[mu, i] = un
            hnew[i] += un
    delta = 0.0
    for i in range(n):
        d = abs(math.tanh(hext[i] + hnew[i]) - math.tanh(htot[i]))
        if d > delta:
            delta = d
        hpat[i] = hnew[i]
    return delta


@njit
def edge_free_entropy(c, scale, kappa, log_eps, u, hpat, hext):
    """Bethe free entropy (total, not per weight) of edge BP at its current messages.

    ``Phi = sum_mu log Zout(x_mu) + sum_i log 2cosh(h_i)
    - sum_{mu i} log(cosh u_{mu i} + m_{i mu} sinh u_{mu i})`` with normalised messages
    (Mezard and Montanari, Information, Physics and Computation (2009), Eq. (14.27)),
    ``h_i = hext_i + hpat_i``. It is the log partition sum with the external field,
    ``log sum_w exp(sum_i hext_i w_i) prod_mu psi_mu(w)``.
    """
    p, n = c.shape
    phi = 0.0
    for i in range(n):
        phi += log2cosh(hext[i] + hpat[i])
    for mu in range(p):
        om = 0.0
        var = 0.0
        edge = 0.0
        for i in range(n):
            h = hext[i] + hpat[i]
            uu = u[mu, i]
            m = math.tanh(h - uu)
            f = scale * c[mu, i]
            om += f * m
            var += f * f * (1.0 - m * m)
            # log(cosh u + m sinh u) = |u| - log 2 + log((1 + m s) + (1 - m s) e^{-2|u|})
            s = 1.0 if uu >= 0.0 else -1.0
            au = abs(uu)
            edge += au - _LOG2 + math.log((1.0 + m * s) + (1.0 - m * s) * math.exp(-2.0 * au))
        if var < V_MIN:
            var = V_MIN
        phi += log_zout((kappa - om) / math.sqrt(var), log_eps) - edge
    return phi


# ----------------------------------------------------------------------------------- AMP
@njit
def _amp_normalise(scale, v, gold, omega, var, binary):
    """Finish the forward pass: the cavity variances ``V_mu`` (for +-1 patterns the same for
    every pattern, ``sum_i v_i / N``; floored at ``V_MIN``) and the Onsager-corrected
    ``omega_mu = omega_mu / sqrt(N) - V_mu g_mu(old)``."""
    n, p = v.shape[0], omega.shape[0]
    vsum = 0.0
    if binary:
        for i in range(n):
            vsum += v[i]
    for mu in range(p):
        if binary:
            var[mu] = vsum * scale * scale
        else:
            var[mu] *= scale * scale
        if var[mu] < V_MIN:
            var[mu] = V_MIN
        omega[mu] = scale * omega[mu] - var[mu] * gold[mu]


@njit
def amp_forward(cT, scale, a, v, s, gold, omega, var, hs, binary):
    """Forward pass of AMP: ``omega_mu = sum_i F a_i - V_mu g_mu(old)``,
    ``V_mu = sum_i F^2 v_i`` and the integer/float field ``hs_mu = sum_i c_{mu i} s_i`` of
    the sign configuration ``s`` (a free solution check fused into the same read of ``cT``).

    ``cT`` is (N, P): the loop over mu is a contiguous axpy. For binary patterns
    ``F^2 = 1/N`` and V does not depend on mu.
    """
    n, p = cT.shape
    for mu in range(p):
        omega[mu] = 0.0
        var[mu] = 0.0
        hs[mu] = 0.0
    for i in range(n):
        ai = a[i]
        si = s[i]
        vi = v[i]
        row = cT[i]
        if binary:
            for mu in range(p):
                cm = row[mu]
                omega[mu] += cm * ai
                hs[mu] += cm * si
        else:
            for mu in range(p):
                cm = row[mu]
                omega[mu] += cm * ai
                hs[mu] += cm * si
                var[mu] += cm * cm * vi
    _amp_normalise(scale, v, gold, omega, var, binary)


@njit
def amp_channel(kappa, log_eps, omega, var, g, mdg):
    """Output channel: ``g = r / sqrt(V)`` and ``-dg/domega = r (r - x) / V`` per pattern
    (see :func:`r_out`). Returns the sum of ``-dg`` (used for binary patterns)."""
    tot = 0.0
    for mu in range(omega.shape[0]):
        sv = math.sqrt(var[mu])
        x = (kappa - omega[mu]) / sv
        r = r_out(x, log_eps)
        g[mu] = r / sv
        d = r * (r - x) / var[mu]
        if d < 0.0:  # round-off only: r >= x holds analytically for every eps
            d = 0.0
        mdg[mu] = d
        tot += d
    return tot


@njit
def amp_backward(c, scale, g, mdg, b, acoef, binary, mdg_sum):
    """Back projection: ``b_i = sum_mu F g_mu`` and ``A_i = sum_mu F^2 (-dg_mu)``.

    ``c`` is (P, N): the loop over i is a contiguous axpy.
    """
    p, n = c.shape
    for i in range(n):
        b[i] = 0.0
        acoef[i] = 0.0
    for mu in range(p):
        gm = g[mu]
        dm = mdg[mu]
        row = c[mu]
        if binary:
            for i in range(n):
                b[i] += row[i] * gm
        else:
            for i in range(n):
                cm = row[i]
                b[i] += cm * gm
                acoef[i] += cm * cm * dm
    for i in range(n):
        b[i] *= scale
        if binary:
            acoef[i] = mdg_sum * scale * scale
        else:
            acoef[i] *= scale * scale


@njit
def amp_free_entropy(kappa, log_eps, omega, var, g, hpat, hext):
    """Bethe free entropy in AMP variables (the O(1/sqrt N) expansion of
    :func:`edge_free_entropy`, see the derivation in :mod:`spinglass_nets.bp.core`):
    ``Phi = sum_mu [log Zout(omega_mu, V_mu) + V_mu g_mu^2 / 2]
    + sum_i [log 2cosh(h_i) - a_i hpat_i]``, ``h_i = hext_i + hpat_i``, ``a_i = tanh h_i``.
    """
    phi = 0.0
    for mu in range(omega.shape[0]):
        phi += log_zout((kappa - omega[mu]) / math.sqrt(var[mu]), log_eps) + 0.5 * var[mu] * g[mu] * g[mu]
    for i in range(hpat.shape[0]):
        h = hext[i] + hpat[i]
        phi += log2cosh(h) - math.tanh(h) * hpat[i]
    return phi


# ------------------------------------------------------------- entropy-driven Monte Carlo
# A chain on a centre configuration w~ whose energy is -N F(w~, gamma), F the Bethe local
# free entropy of BP with the external field gamma w~ (spinglass_nets.samplers.edmc). One
# compiled call runs S sweeps of N proposals for every chain: draw a site (xoshiro256**,
# Lemire), flip it, warm-start BP from the messages of the current centre, compare F, and
# keep or restore (centre and messages). The messages of the current centre are part of
# the chain's state (checkpointed), so a resumed chain repeats an uninterrupted one bit for
# bit. Chains are independent (prange): results do not depend on the thread count.


@njit
def _amp_fwd(cT, scale, a, v, gold, omega, var, binary):
    """``omega`` and ``V`` of :func:`amp_forward` without the sign-configuration field."""
    n, p = cT.shape
    for mu in range(p):
        omega[mu] = 0.0
        var[mu] = 0.0
    for i in range(n):
        ai = a[i]
        row = cT[i]
        if binary:
            for mu in range(p):
                omega[mu] += row[mu] * ai
        else:
            vi = v[i]
            for mu in range(p):
                cm = row[mu]
                omega[mu] += cm * ai
                var[mu] += cm * cm * vi
    _amp_normalise(scale, v, gold, omega, var, binary)


@njit
def amp_iterate(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg, b, acoef,
                damping):
    """One AMP iteration in place (the update of ``core._State.step``, method "amp");
    returns the largest change of a marginal."""
    _amp_fwd(cT, scale, a, v, gold, omega, var, binary)
    tot = amp_channel(kappa, log_eps, omega, var, g, mdg)
    amp_backward(c, scale, g, mdg, b, acoef, binary, tot)
    p = c.shape[0]
    cap = U_MAX * p
    delta = 0.0
    for i in range(hpat.shape[0]):
        new = b[i] + a[i] * acoef[i]
        if new > cap:
            new = cap
        elif new < -cap:
            new = -cap
        hpat[i] = damping * hpat[i] + (1.0 - damping) * new
        an = math.tanh(hext[i] + hpat[i])
        d = abs(an - a[i])
        if d > delta:
            delta = d
        a[i] = an
        v[i] = 1.0 - an * an
    for mu in range(p):
        gold[mu] = g[mu]
    return delta


@njit
def amp_phi(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg):
    """Bethe free entropy (total) at the current AMP messages (as ``core._State.free_entropy``)."""
    _amp_fwd(cT, scale, a, v, gold, omega, var, binary)
    amp_channel(kappa, log_eps, omega, var, g, mdg)
    return amp_free_entropy(kappa, log_eps, omega, var, g, hpat, hext)


@njit
def _possible(f, gamma):
    """Whether ``f`` can be a local free entropy: finite and <= log 2 + gamma (the value of
    the sum over all 2^N configurations; 1e-9 of slack for round-off)."""
    return math.isfinite(f) and f <= _LOG2 + gamma + 1e-9


@njit
def _judge(ok, Fn, F, gam, n, beta_e, cnt, s0, s1, s2, s3):
    """Metropolis on ``-N F`` for one EdMC proposal with new local free entropy ``Fn``.

    A proposal is judged only if its BP converged (``ok``) to a possible F (finite, at most
    log 2 + gamma: the sum over all configurations); otherwise it is rejected and counted in
    ``cnt[5]``. A uniform is drawn only for a valid downhill move at finite ``beta_e``.
    Returns (accept, s0, s1, s2, s3)."""
    dF = n * (Fn - F)
    valid = ok and _possible(Fn, gam)
    cnt[5] += 0 if valid else 1
    acc = valid and dF >= 0.0
    if valid and not acc and beta_e < np.inf:
        x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        acc = u64_to_unit(x) < math.exp(beta_e * dF)
    return acc, s0, s1, s2, s3


@njit
def _count_bp(cnt, ok, it):
    """Book one BP call of ``it`` iterations (``cnt`` layout: see :func:`_edmc_chain_amp`)."""
    cnt[2] += 1
    cnt[3] += it
    cnt[4] += 0 if ok else 1


@njit
def _converge_amp(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg, b, acoef,
                  damping, max_iter, tol, cnt):
    """Iterate AMP to ``tol`` (at most ``max_iter`` times), book the call in ``cnt``; returns
    (converged, F per weight)."""
    ok = False
    it = 0
    while it < max_iter:
        it += 1
        if amp_iterate(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg, b, acoef,
                       damping) < tol:
            ok = True
            break
    _count_bp(cnt, ok, it)
    return ok, amp_phi(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg) / hext.shape[0]


@njit
def _converge_edge(c, scale, kappa, log_eps, u, hpat, hext, damping, mrow, max_iter, tol, cnt):
    """:func:`_converge_amp` with edge messages."""
    ok = False
    it = 0
    while it < max_iter:
        it += 1
        if edge_iterate(c, scale, kappa, log_eps, u, hpat, hext, damping, mrow) < tol:
            ok = True
            break
    _count_bp(cnt, ok, it)
    return ok, edge_free_entropy(c, scale, kappa, log_eps, u, hpat, hext) / hext.shape[0]


@njit
def _edmc_chain_amp(c, cT, scale, kappa, binary, centre, gammas, beta_e, rng, hpat, a, v, gold, fe, gnow, cnt,
                    max_iter, tol, damping):
    """S sweeps of one chain, AMP messages (hpat, a, v, gold). ``fe``, ``gnow``: (1,) the
    current F and the gamma it was computed at; ``cnt``: (6,) accepted, proposed, BP calls,
    BP iterations, unconverged BP calls, proposals rejected because their BP did not converge
    to a possible F (accumulated). F = nan when BP at the current centre did not converge
    (after a change of gamma): the sweep's proposals draw their sites and are rejected."""
    n = centre.shape[0]
    p = c.shape[0]
    log_eps = -np.inf
    hext = np.empty(n)
    omega = np.empty(p)
    var = np.empty(p)
    g = np.empty(p)
    mdg = np.empty(p)
    b = np.empty(n)
    acoef = np.empty(n)
    hpat_b = np.empty(n)
    a_b = np.empty(n)
    v_b = np.empty(n)
    gold_b = np.empty(p)
    s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
    F = fe[0]
    for t in range(gammas.shape[0]):
        gam = gammas[t]
        for i in range(n):
            hext[i] = gam * centre[i]
        if not gam == gnow[0] or math.isnan(F):  # new coupling (or F unknown): converge BP
            ok, F = _converge_amp(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg,
                                  b, acoef, damping, max_iter, tol, cnt)
            if not (ok and _possible(F, gam)):
                F = np.nan  # F unknown: this sweep's proposals are rejected; retried next sweep
            gnow[0] = gam
        for _ in range(n):
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, n)
            cnt[1] += 1
            if math.isnan(F):
                continue
            hpat_b[:] = hpat
            a_b[:] = a
            v_b[:] = v
            gold_b[:] = gold
            centre[i] = -centre[i]
            hext[i] = gam * centre[i]
            ok, Fn = _converge_amp(c, cT, scale, kappa, log_eps, binary, hext, hpat, a, v, gold, omega, var, g, mdg,
                                   b, acoef, damping, max_iter, tol, cnt)
            acc, s0, s1, s2, s3 = _judge(ok, Fn, F, gam, n, beta_e, cnt, s0, s1, s2, s3)
            if acc:
                F = Fn
                cnt[0] += 1
            else:
                centre[i] = -centre[i]
                hext[i] = gam * centre[i]
                hpat[:] = hpat_b
                a[:] = a_b
                v[:] = v_b
                gold[:] = gold_b
    fe[0] = F
    rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3


@njit(parallel=True)
def edmc_sweeps_amp(c, cT, scale, kappa, binary, centres, gammas, beta_e, rng, hpat, a, v, gold, fe, gnow, cnt,
                    max_iter, tol, damping):
    """EdMC sweeps (one per entry of ``gammas``) for every chain; AMP messages.

    ``centres`` (C, N) int8, ``rng`` (C, 4) uint64, ``hpat``/``a``/``v`` (C, N), ``gold``
    (C, P), ``fe``/``gnow`` (C, 1) float64, ``cnt`` (C, 6) int64; all updated in place.
    """
    for j in prange(centres.shape[0]):
        _edmc_chain_amp(c, cT, scale, kappa, binary, centres[j], gammas, beta_e, rng[j], hpat[j], a[j], v[j],
                        gold[j], fe[j], gnow[j], cnt[j], max_iter, tol, damping)


@njit
def _edmc_chain_edge(c, scale, kappa, centre, gammas, beta_e, rng, u, hpat, fe, gnow, cnt, max_iter, tol, damping):
    """As :func:`_edmc_chain_amp` with edge messages ``u`` (P, N), ``hpat`` (N,)."""
    n = centre.shape[0]
    p = c.shape[0]
    log_eps = -np.inf
    hext = np.empty(n)
    mrow = np.empty(n)
    u_b = np.empty((p, n))
    hpat_b = np.empty(n)
    s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
    F = fe[0]
    for t in range(gammas.shape[0]):
        gam = gammas[t]
        for i in range(n):
            hext[i] = gam * centre[i]
        if not gam == gnow[0] or math.isnan(F):
            ok, F = _converge_edge(c, scale, kappa, log_eps, u, hpat, hext, damping, mrow, max_iter, tol, cnt)
            if not (ok and _possible(F, gam)):
                F = np.nan
            gnow[0] = gam
        for _ in range(n):
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, n)
            cnt[1] += 1
            if math.isnan(F):
                continue
            u_b[:, :] = u
            hpat_b[:] = hpat
            centre[i] = -centre[i]
            hext[i] = gam * centre[i]
            ok, Fn = _converge_edge(c, scale, kappa, log_eps, u, hpat, hext, damping, mrow, max_iter, tol, cnt)
            acc, s0, s1, s2, s3 = _judge(ok, Fn, F, gam, n, beta_e, cnt, s0, s1, s2, s3)
            if acc:
                F = Fn
                cnt[0] += 1
            else:
                centre[i] = -centre[i]
                hext[i] = gam * centre[i]
                u[:, :] = u_b
                hpat[:] = hpat_b
    fe[0] = F
    rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, s3


@njit(parallel=True)
def edmc_sweeps_edge(c, scale, kappa, centres, gammas, beta_e, rng, u, hpat, fe, gnow, cnt, max_iter, tol, damping):
    """EdMC sweeps for every chain with edge messages ``u`` (C, P, N), ``hpat`` (C, N)."""
    for j in prange(centres.shape[0]):
        _edmc_chain_edge(c, scale, kappa, centres[j], gammas, beta_e, rng[j], u[j], hpat[j], fe[j], gnow[j], cnt[j],
                         max_iter, tol, damping)
