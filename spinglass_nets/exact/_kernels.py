"""Numba kernels of the exact referee: Gray-code enumeration with incremental fields.

Configuration index (every kernel and the public API use it)
------------------------------------------------------------
A configuration of N weights is the integer ``k`` in ``[0, 2**N)`` whose bit ``N-1-i`` is
set iff ``w_i = -1``; so ``w_0`` is the most significant bit and ascending ``k`` is the
lexicographic order of ``(w_0, ..., w_{N-1})`` with ``+1`` before ``-1``.

Blocks
------
The index is split as ``k = (prefix, block, low)``: ``first`` leading weights fixed at +1
(``first = 1`` uses the ``w -> -w`` symmetry: each enumerated ``w`` also accounts for
``-w``), ``top`` block bits and ``L = N - first - top`` low bits. Each block starts from
fields computed from scratch and walks its ``2**L`` low configurations in Gray-code order
(step ``s`` flips weight ``N-1-ctz(s)``: P field updates). Blocks are independent; chunks
of consecutive blocks run under ``prange`` and write their own rows, so integer results do
not depend on the thread count.

Binary patterns use int16 fields and the table ``cc`` (2N, Pp): row ``2i`` is ``-2 c_i``
(flip ``w_i`` from +1 to -1), row ``2i+1`` is ``+2 c_i``; ``Pp`` pads P to a multiple of 16
with zero columns (padding fields stay 0 and their constant contribution is removed).
A pattern is violated iff ``h < lo`` or ``h > hi`` (exact integers; the perceptron has
``hi`` = a sentinel above any field); for ``-w`` the field is ``-h``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._numba import cttz64, njit


@njit(inline="always")
def _block_start_int(cc, h, n, first, top, low_bits, blk):
    """Fields (int16, in ``h``) of the first configuration of block ``blk``."""
    pp = cc.shape[1]
    acc = np.zeros(pp, np.int32)
    for i in range(n):
        if i >= first and i < first + top and (blk >> (first + top - 1 - i)) & 1:
            r = 2 * i  # w_i = -1: -c_i = (-2 c_i) / 2
        else:
            r = 2 * i + 1
        for m in range(pp):
            acc[m] += cc[r, m]
    for m in range(pp):
        h[m] = np.int16(acc[m] // 2)


@njit(parallel=True)
def dos_errors_binary(cc, thr, first, top, n_chunks):
    """Error counts of every configuration, binary patterns (the benchmarked kernel).

    Parameters
    ----------
    cc : ndarray (2N, Pp) int16
        Flip table (module docstring).
    thr : ndarray (3,) int16
        ``lo, hi, P``.
    first, top, n_chunks : int
        Block layout (module docstring); ``first = 1`` also counts ``-w``.

    Returns
    -------
    ndarray (n_chunks, Pp + 1) int64
        Per-chunk histogram of the number of violated patterns (padding removed).
    """
    n2, pp = cc.shape
    n = n2 // 2
    lo = thr[0]
    hi = thr[1]
    nlo = np.int16(-lo)
    nhi = np.int16(-hi)
    low_bits = n - first - top
    n_blocks = 1 << top
    n_low = np.uint64(1) << np.uint64(low_bits)
    out = np.zeros((n_chunks, pp + 1), np.int64)
    pad = pp - thr[2]
    # Padding fields are 0: their constant share of each count.
    pad1 = pad * (1 if (0 < lo or 0 > hi) else 0)
    pad2 = pad * (1 if (0 > nlo or 0 < nhi) else 0)
    for ch in prange(n_chunks):
        h = np.empty(pp, np.int16)
        # Four interleaved histograms per sign avoid a store-to-load chain on one counter.
        hist = np.zeros((8, pp + 1), np.int64)
        b0 = (ch * n_blocks) // n_chunks
        b1 = ((ch + 1) * n_blocks) // n_chunks
        for blk in range(b0, b1):
            _block_start_int(cc, h, n, first, top, low_bits, blk)
            g = np.uint64(0)
            s = np.uint64(0)
            while True:
                c1 = 0
                c2 = 0
                for m in range(pp):
                    x = h[m]
                    c1 += (x < lo) | (x > hi)
                    c2 += (x > nlo) | (x < nhi)
                lane = int(s & np.uint64(3))
                hist[lane, c1] += 1
                hist[4 + lane, c2] += 1
                s += np.uint64(1)
                if s == n_low:
                    break
                b = cttz64(s)
                bit = (g >> b) & np.uint64(1)
                g ^= np.uint64(1) << b
                r = 2 * (n - 1 - int(b)) + int(bit)
                for m in range(pp):
                    h[m] = h[m] + cc[r, m]
        for k in range(pp + 1):
            v1 = hist[0, k] + hist[1, k] + hist[2, k] + hist[3, k]
            if v1:
                out[ch, k - pad1] += v1
            if first == 1:
                v2 = hist[4, k] + hist[5, k] + hist[6, k] + hist[7, k]
                if v2:
                    out[ch, k - pad2] += v2
    return out


@njit(parallel=True)
def scan_binary(cc, thr, first, top, n_chunks, mode, ref_bits, offsets, hist_len, cap):
    """General scan for binary patterns: linear-energy keys, distance profiles, solutions.

    Parameters
    ----------
    cc : ndarray (2N, Pp) int16
    thr : ndarray (3,) int16
        ``lo, hi, P``.
    first, top, n_chunks : int
        Block layout; ``first = 1`` (modes 1, 2) also accounts for ``-w``.
    mode : int
        1: histogram of keys ``(n_violated, S)`` with ``S = sum over violated of
        sign * h`` (sign -1 below ``lo``, +1 above ``hi``), flattened as
        ``n * (2 P N + 1) + S + P N``. 2: histogram of the Hamming distance of solutions
        to the reference. 3: solutions per block. 4: indices of the solutions, block ``b``
        written from ``offsets[b]`` (blocks with ``offsets[b+1] > cap`` are skipped).
    ref_bits : int
        Reference configuration as an index (mode 2).
    offsets : ndarray (n_blocks + 1,) int64
        Mode 4 write offsets (cumulated mode-3 counts); unused otherwise.
    hist_len, cap : int
        Histogram length (modes 1, 2) and solution buffer length (mode 4).

    Returns
    -------
    hist : ndarray (n_chunks, hist_len) int64
    block_counts : ndarray (n_blocks,) int64
    found : ndarray (cap,) int64
    """
    n2, pp = cc.shape
    n = n2 // 2
    p = thr[2]
    lo = thr[0]
    hi = thr[1]
    low_bits = n - first - top
    n_blocks = 1 << top
    n_low = np.uint64(1) << np.uint64(low_bits)
    span = 2 * p * n + 1
    hist = np.zeros((n_chunks, hist_len), np.int64)
    block_counts = np.zeros(n_blocks, np.int64)
    found = np.zeros(cap, np.int64)
    for ch in prange(n_chunks):
        h = np.empty(pp, np.int16)
        b0 = (ch * n_blocks) // n_chunks
        b1 = ((ch + 1) * n_blocks) // n_chunks
        for blk in range(b0, b1):
            if mode == 4 and (offsets[blk + 1] > cap or offsets[blk + 1] == offsets[blk]):
                continue
            _block_start_int(cc, h, n, first, top, low_bits, blk)
            base = np.uint64(blk) << np.uint64(low_bits)
            k0 = base  # index of the block's first configuration (prefix bits are 0)
            d = 0
            if mode == 2:
                x = np.uint64(ref_bits) ^ k0
                while x:
                    d += 1
                    x &= x - np.uint64(1)
            pos = offsets[blk] if mode == 4 else 0
            nsol = 0
            g = np.uint64(0)
            s = np.uint64(0)
            while True:
                c1 = 0
                c2 = 0
                s1 = 0
                s2 = 0
                for m in range(p):
                    x = np.int64(h[m])
                    if x < lo:
                        c1 += 1
                        s1 -= x
                    elif x > hi:
                        c1 += 1
                        s1 += x
                    if -x < lo:
                        c2 += 1
                        s2 += x
                    elif -x > hi:
                        c2 += 1
                        s2 -= x
                if mode == 1:
                    hist[ch, c1 * span + s1 + p * n] += 1
                    if first == 1:
                        hist[ch, c2 * span + s2 + p * n] += 1
                elif mode == 2:
                    if c1 == 0:
                        hist[ch, d] += 1
                    if first == 1 and c2 == 0:
                        hist[ch, n - d] += 1
                elif c1 == 0:
                    nsol += 1
                    if mode == 4:
                        found[pos] = np.int64(base | g)
                        pos += 1
                s += np.uint64(1)
                if s == n_low:
                    break
                b = cttz64(s)
                bit = (g >> b) & np.uint64(1)
                g ^= np.uint64(1) << b
                if mode == 2:
                    # The reference bit of the flipped weight decides the distance change.
                    if ((np.uint64(ref_bits) >> b) & np.uint64(1)) == bit:
                        d += 1
                    else:
                        d -= 1
                r = 2 * (n - 1 - int(b)) + int(bit)
                for m in range(pp):
                    h[m] = h[m] + cc[r, m]
            block_counts[blk] = nsol
    return hist, block_counts, found


@njit(parallel=True)
def scan_gauss(c, thr, top, n_chunks, mode, ref_bits, offsets, hist_len, cap, amb_cap, energies):
    """Scan for Gaussian (float) patterns; near-threshold configurations are deferred.

    A configuration is *ambiguous* when some field lies within ``eps`` of a threshold:
    incremental float fields (recomputed from scratch at every block start) and the
    instance's own matrix product may then disagree, so the caller re-checks those
    configurations with the instance and the kernel leaves them out of every output.

    Parameters
    ----------
    c : ndarray (N, P) float64
        ``c = (y * xi).T``.
    thr : ndarray (4,) float64
        ``lo, hi, eps, 1/sqrt(N)`` in field units (violated iff ``h < lo`` or ``h > hi``).
    top, n_chunks : int
        Block layout (no symmetry: ``first = 0``).
    mode : int
        0: error-count histogram; 1: linear energy of every configuration into
        ``energies[k]``; 2: distance histogram of solutions; 3: solutions per block;
        4: solution indices at ``offsets`` (as in :func:`scan_binary`).
    ref_bits, offsets, hist_len, cap : see :func:`scan_binary`.
    amb_cap : int
        Ambiguous indices kept per chunk.
    energies : ndarray (2**N,) or (0,) float64
        Output of mode 1.

    Returns
    -------
    hist : ndarray (n_chunks, hist_len) int64
    block_counts : ndarray (n_blocks,) int64
    found : ndarray (cap,) int64
    amb : ndarray (n_chunks, amb_cap) int64
    n_amb : ndarray (n_chunks,) int64
        Ambiguous configurations per chunk (may exceed ``amb_cap``: the caller retries).
    """
    n, p = c.shape
    lo = thr[0]
    hi = thr[1]
    eps = thr[2]
    inv = thr[3]
    low_bits = n - top
    n_blocks = 1 << top
    n_low = np.uint64(1) << np.uint64(low_bits)
    hist = np.zeros((n_chunks, hist_len), np.int64)
    block_counts = np.zeros(n_blocks, np.int64)
    found = np.zeros(cap, np.int64)
    amb = np.zeros((n_chunks, amb_cap), np.int64)
    n_amb = np.zeros(n_chunks, np.int64)
    for ch in prange(n_chunks):
        h = np.empty(p, np.float64)
        b0 = (ch * n_blocks) // n_chunks
        b1 = ((ch + 1) * n_blocks) // n_chunks
        for blk in range(b0, b1):
            if mode == 4 and (offsets[blk + 1] > cap or offsets[blk + 1] == offsets[blk]):
                continue
            base = np.uint64(blk) << np.uint64(low_bits)
            h[:] = 0.0
            for i in range(n):
                neg = (blk >> (top - 1 - i)) & 1 if i < top else 0
                for m in range(p):
                    if neg:
                        h[m] -= c[i, m]
                    else:
                        h[m] += c[i, m]
            d = 0
            if mode == 2:
                x = np.uint64(ref_bits) ^ base
                while x:
                    d += 1
                    x &= x - np.uint64(1)
            pos = offsets[blk] if mode == 4 else 0
            nsol = 0
            g = np.uint64(0)
            s = np.uint64(0)
            while True:
                cnt = 0
                am = 0
                e = 0.0
                for m in range(p):
                    x = h[m]
                    am += (abs(x - lo) < eps) | (abs(x - hi) < eps)
                    if x < lo:
                        cnt += 1
                        e += (lo - x) * inv
                    elif x > hi:
                        cnt += 1
                        e += (x - hi) * inv
                if am:
                    j = n_amb[ch]
                    if j < amb_cap:
                        amb[ch, j] = np.int64(base | g)
                    n_amb[ch] = j + 1
                elif mode == 0:
                    hist[ch, cnt] += 1
                elif mode == 1:
                    energies[np.int64(base | g)] = e
                elif cnt == 0:
                    nsol += 1
                    if mode == 2:
                        hist[ch, d] += 1
                    elif mode == 4:
                        found[pos] = np.int64(base | g)
                        pos += 1
                s += np.uint64(1)
                if s == n_low:
                    break
                b = cttz64(s)
                bit = (g >> b) & np.uint64(1)
                g ^= np.uint64(1) << b
                if mode == 2:
                    if ((np.uint64(ref_bits) >> b) & np.uint64(1)) == bit:
                        d += 1
                    else:
                        d -= 1
                i = n - 1 - int(b)
                if bit:
                    for m in range(p):
                        h[m] += 2.0 * c[i, m]
                else:
                    for m in range(p):
                        h[m] -= 2.0 * c[i, m]
            block_counts[blk] = nsol
    return hist, block_counts, found, amb, n_amb
