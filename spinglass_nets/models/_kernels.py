"""Compiled kernel of the instances: fields in a fixed summation order.

Shared with the samplers' engine (``samplers/_engine.py`` recomputes the float kernel's
fields with it at every block boundary).
"""

from __future__ import annotations

import numpy as np

from .._numba import njit


@njit
def float_fields(cT, w, f):
    """Fields ``f[c, mu] = sum_i w[c, i] cT[i, mu]``, summed over ``i = 0 .. N-1`` in that
    order for every (c, mu): the result of one configuration does not depend on the batch
    it comes in, on the thread count or on memory alignment (a BLAS product does: its
    blocking changes the order of the additions, which decides verdicts within rounding of
    a threshold).

    cT : (N, P) float64; w : (C, N) int8 (+-1); f : (C, P) float64, written.
    """
    C = w.shape[0]
    N, P = cT.shape
    for c in range(C):
        for mu in range(P):
            f[c, mu] = 0.0
        for i in range(N):
            wi = np.float64(w[c, i])
            for mu in range(P):
                f[c, mu] += wi * cT[i, mu]
