"""Numba kernels of the online solvers: SBPI and CP+R, one epoch per call.

Both rules keep an integer hidden state ``h_i`` per weight (odd, so that ``w_i = sign(h_i)``
is never ambiguous; updates move it by +-2 and clip it to ``[-h_max, h_max]``, h_max odd) and
present the patterns one at a time in a fresh random order each epoch. Randomness comes from
one xoshiro256** state (``(4,)`` uint64, see :mod:`spinglass_nets._rng`) advanced in place,
so a run is reproducible bit for bit and resumable from its state.

``c`` are the label-absorbed patterns ``y_mu xi_mu`` (P, N); for +-1 patterns the field
``sum_i c_{mu i} w_i`` is an exact int64 and ``thr`` is ``h_min``; for Gaussian patterns it is
a float64 and ``thr = kappa sqrt(N)``, and the hidden increment uses ``sign(c_{mu i})`` (the
clipped-input variant: hidden states stay integer).
"""

from __future__ import annotations

import numpy as np

from .._numba import njit
from .._rng import draw_below, u64_to_unit, xoshiro_next


@njit
def _field(row, w, binary):
    """``sum_i row_i w_i``: an exact int64 sum for +-1 rows (an integer reduction, which
    vectorises without reassociating floats), a float64 sum otherwise."""
    if binary:
        acc = np.int64(0)
        for i in range(row.shape[0]):
            acc += np.int64(row[i]) * np.int64(w[i])
        return np.float64(acc)
    facc = 0.0
    for i in range(row.shape[0]):
        facc += row[i] * w[i]
    return facc


@njit
def _sgn(x):
    return 1 if x > 0 else (-1 if x < 0 else 0)


@njit
def _permutation(order, s0, s1, s2, s3):
    """Fisher-Yates shuffle of ``order`` in place with exactly uniform bounded draws."""
    p = order.shape[0]
    for k in range(p):
        order[k] = k
    for k in range(p - 1, 0, -1):
        j, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, k + 1)
        t = order[k]
        order[k] = order[j]
        order[j] = t
    return s0, s1, s2, s3


@njit
def _push(c_row, hidden, w, h_max, only_aligned):
    """``h_i += 2 sign(c_i)`` (clipped); with ``only_aligned`` only where ``sign(c_i) h_i > 0``."""
    for i in range(hidden.shape[0]):
        ci = _sgn(c_row[i])
        if ci == 0:
            continue
        if only_aligned and ci * hidden[i] <= 0:
            continue
        hn = hidden[i] + 2 * ci
        if hn > h_max:
            hn = h_max
        elif hn < -h_max:
            hn = -h_max
        hidden[i] = hn
        w[i] = 1 if hn > 0 else -1


@njit
def sbpi_epoch(c, binary, thr, theta_m, p_s, h_max, hidden, w, order, state):
    """One epoch of SBPI (Baldassi, Braunstein, Brunel and Zecchina, PNAS 104, 11079 (2007),
    the two SBPI update rules of its "Learning rule" section, here called R1 and R2).

    For each pattern, in random order, with ``Delta = sum_i c_i w_i``:

    - (R1) ``Delta < thr`` (misclassified): ``h_i += 2 c_i`` for every i;
    - (R2) ``thr <= Delta < thr + theta_m`` (barely correct): with probability ``p_s``,
      ``h_i += 2 c_i`` only for the weights already aligned (``c_i h_i > 0``), which
      consolidates them without flipping any.

    Parameters
    ----------
    c : (P, N) int8 or float64
    binary : bool, True for int8 +-1 rows (exact integer fields).
    thr : float, field threshold (``h_min`` or ``kappa sqrt N``).
    theta_m : float, width of the barely-correct window in field units (>= 0).
    p_s : float in [0, 1].
    h_max : int, odd bound of ``|h_i|``.
    hidden : (N,) int32, odd hidden states (updated).
    w : (N,) int8, ``sign(hidden)`` (updated).
    order : (P,) int64 scratch.
    state : (4,) uint64 xoshiro256** state (advanced).

    Returns
    -------
    int, the number of patterns misclassified when presented.
    """
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    s0, s1, s2, s3 = _permutation(order, s0, s1, s2, s3)
    errors = 0
    for k in range(order.shape[0]):
        mu = order[k]
        row = c[mu]
        delta = _field(row, w, binary)
        if delta < thr:
            errors += 1
            _push(row, hidden, w, h_max, False)
        elif delta < thr + theta_m:
            x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
            if u64_to_unit(x) < p_s:
                _push(row, hidden, w, h_max, True)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return errors


@njit
def cpr_epoch(c, binary, thr, theta_m, p_r, h_max, hidden, w, order, state):
    """One epoch of CP+R, the clipped perceptron with stochastic reinforcement
    (Baldassi, J. Stat. Phys. 136, 902 (2009), section "The CP+R rule").

    For each pattern, in random order:

    - CP: if ``Delta < thr + theta_m`` (misclassified, or inside the optional margin window),
      ``h_i += 2 c_i`` for every i;
    - R: independently, with probability ``p_r``, ``h_i += 2 sign(h_i)`` for every i (each
      hidden state is pushed away from zero: a slow, stochastic consolidation).

    Parameters and return value as in :func:`sbpi_epoch` (``p_r`` replaces ``p_s``).
    """
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    s0, s1, s2, s3 = _permutation(order, s0, s1, s2, s3)
    errors = 0
    n = hidden.shape[0]
    for k in range(order.shape[0]):
        mu = order[k]
        row = c[mu]
        delta = _field(row, w, binary)
        if delta < thr:
            errors += 1
        if delta < thr + theta_m:
            _push(row, hidden, w, h_max, False)
        x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        if u64_to_unit(x) < p_r:
            for i in range(n):
                hn = hidden[i] + (2 if hidden[i] > 0 else -2)
                if hn > h_max:
                    hn = h_max
                elif hn < -h_max:
                    hn = -h_max
                hidden[i] = hn
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return errors


@njit
def count_errors(c, binary, thr, w):
    """Number of patterns with ``sum_i c_i w_i < thr`` (the kernels' own fast check)."""
    e = 0
    for mu in range(c.shape[0]):
        if _field(c[mu], w, binary) < thr:
            e += 1
    return e
