"""Compiled sweeps. Arrays in, arrays out; no validation here (the Python boundary did it).

Two kernels, both ``prange`` over independent chains (each chain owns its generator state,
so results do not depend on the thread count):

``metropolis_bits``
    +-1 patterns, perceptron constraint. Integer fields ``h_mu = y_mu xi_mu . w`` move by
    +-2 per flip, so only patterns at the level ``A`` (satisfied, the lowest satisfied level
    with the parity of N) or ``B = A - 2`` (violated, one flip from satisfied) change status.
    With the shared bit matrix ``cbits[i]`` = bitset over mu of ``{c_mu,i > 0}`` (c = y xi;
    rows padded with zero words to a multiple of 8), ``S_i = cbits[i]`` if ``w_i = +1`` else
    its complement is the set of patterns whose field *drops* when ``w_i`` flips, and

        dE_errors = popcount(LA & S_i) - popcount(LB & ~S_i)
                  = popcount((LA | LB) & S_i) - |LB|,

    P/64 words per proposal (DESIGN.md section 4). The errors energy uses the second form:
    one bitset and one count. Inside a call its fields are bit-sliced, 16 uint64 planes per
    64 patterns, offset so that the levels are 130 and 131: an accepted flip is a ripple
    carry of 64-bit logic on the 8 low planes, 512 patterns per vector step, and yields the
    bitset and the count directly (:func:`spinglass_nets._numba.flip_planes`); at finite
    beta accepted flips go in two at a time (:func:`spinglass_nets._numba.pair_planes`,
    :func:`spinglass_nets._numba.pend_one`); the int16
    fields are written back at the end of the call. The linear energy uses int16 fields and
    the bitsets LA, LB and ``V = {h <= B}`` (:func:`_delta_linear`, one <64 x i16> vector
    step per word on a flip, :func:`spinglass_nets._numba.flip_word16`). Every cache equals
    a recomputation at every call boundary. The inner loops create no array views (each
    would be an atomic reference-count update shared by all threads) and prefetch the next
    sites' bit rows when the bit matrix outgrows the L2 cache. At finite beta the errors
    energy takes a path arranged for the CPU (:func:`_bits_chain_errors`).

``metropolis_float``
    any patterns and either constraint: :mod:`spinglass_nets.samplers._float_kernels` (it
    shares the helpers and the per-chain integer layout defined here).

Energies: ``errors`` = violated count; ``linear`` = sum over violated of the violation.
In ``metropolis_bits`` both are carried exactly as integers per chain (``ints[c, 0]`` =
violated count n, ``ints[c, 1]`` = sum of the violated fields s), and
``E_linear = kappa n - s / sqrt(N)``.

A proposal picks a site uniformly (Lemire's unbiased bounded draw on xoshiro256**), accepts
``dE <= 0`` without a draw, otherwise accepts when ``u < exp(-beta dE)``; at ``beta = inf``
no uniform is drawn. The same sequence of draws therefore follows from the same state.

Zero temperature: at ``beta = inf`` a proposal rejected without a uniform is a function of
the state alone, so both kernels memoise it (one bit per site, per call) until the next
accepted flip and skip its dE when the site comes up again; a chain whose sites are all
memoised is frozen and its remaining ``beta = inf`` proposals only draw their sites. The
trajectory, the counters and the generator stream are those of the plain chain.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._numba import LOW_PLANES, PLANES, delta_planes, flip_planes, flip_planes2, flip_planes4, flip_word16, njit
from .._numba import pair_planes, pair_planes2, pair_planes4, pend_one, pend_one2, pend_one4
from .._numba import planes_decode, planes_encode, popcount64, prefetch_row
from .._rng import draw_below, u64_to_unit, xoshiro_next

# Layout of the per-chain integer scalars ``ints`` (C, 8) int64; one 64-byte row per chain
# so that chains on different threads never share a cache line.
I_NVIOL = 0  # violated count
I_SUMV = 1  # sum of the fields of violated patterns (bits kernel, linear energy)
I_ACC = 2  # accepted proposals since the counter was last reset
I_PROP = 3  # proposals since the counter was last reset

SENTINEL = 32767  # field held by padding patterns: never at A or B, never violated
PREFETCH_BYTES = 262144  # prefetch next rows when the bit matrix exceeds this (beyond L1/L2)
TABLE = 256  # acceptance thresholds memoised for integer dE < TABLE (errors energy)


@njit
def rebuild_bits(h, A, B, la, lb, vb, W):
    """Recompute the level bitsets of one chain from its fields ``h`` (Ppad,) int16."""
    for k in range(W):
        a = np.uint64(0)
        b = np.uint64(0)
        v = np.uint64(0)
        base = 64 * k
        for j in range(64):
            hv = h[base + j]
            bit = np.uint64(1) << np.uint64(j)
            if hv == A:
                a |= bit
            elif hv == B:
                b |= bit
            if hv <= B:
                v |= bit
        la[k] = a
        lb[k] = b
        vb[k] = v


@njit(inline="always")
def _flip_update(h, cbits, i, neg, A, B, la, lb, vb, W, lastmask):
    """Apply the flip of weight i to the fields ``h`` and rebuild the bitsets in the same
    pass: ``cbits[i] ^ neg`` is the set of patterns whose field drops by 2 (the others
    rise by 2); ``lastmask`` marks the real patterns of the last word (padding stays at
    ``SENTINEL``). One <64 x i16> vector step per word (:func:`flip_word16`)."""
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    for k in range(W - 1):  # full words: the constant mask folds away
        a, b, v = flip_word16(h, 64 * k, cbits[i, k] ^ neg, full, A, B)
        la[k] = a
        lb[k] = b
        vb[k] = v
    k = W - 1
    a, b, v = flip_word16(h, 64 * k, cbits[i, k] ^ neg, lastmask, A, B)
    la[k] = a
    lb[k] = b
    vb[k] = v


@njit(inline="always")
def _rebuild_bits16(h, A, B, la, lb, vb, W):
    """Recompute the ``LA, LB, V`` bitsets of one chain from its fields (vector compares)."""
    zero = np.uint64(0)
    for k in range(W):
        a, b, v = flip_word16(h, 64 * k, zero, zero, A, B)
        la[k] = a
        lb[k] = b
        vb[k] = v


@njit(inline="always")
def _delta_linear(cbits, i, neg, la, lb, vb, W):
    """Changes (dn, ds) of the violated count and of the sum of violated fields.

    Patterns in S (field drops by 2): at A -> become violated at B (dn +1, ds +B);
    already violated -> ds -2. Patterns not in S (field rises by 2): at B -> satisfied
    (dn -1, ds -B); violated below B -> ds +2. Returns (up, down, n_vs, n_vns) with
    n_vs = |V & S|, n_vns = |V & ~S & ~LB|.
    """
    up = np.int64(0)
    down = np.int64(0)
    n_vs = np.int64(0)
    n_vns = np.int64(0)
    for k in range(W):
        s = cbits[i, k] ^ neg
        up += np.int64(popcount64(la[k] & s))
        down += np.int64(popcount64(lb[k] & ~s))
        n_vs += np.int64(popcount64(vb[k] & s))
        n_vns += np.int64(popcount64(vb[k] & ~s & ~lb[k]))
    return up, down, n_vs, n_vns


@njit(inline="always")
def _peek(s1):
    """The output xoshiro256** would give next from a state whose second word is ``s1``."""
    return ((((s1 * np.uint64(5)) << np.uint64(7)) | ((s1 * np.uint64(5)) >> np.uint64(57)))) * np.uint64(9)


@njit(inline="always")
def _field_decision(beta, de, fw):
    """Metropolis decision for pi(w) ∝ exp(-beta E(w) + sum_i f_i w_i).

    ``fw = -2 w_i f_i`` is the change of the field term when ``w_i`` flips. Returns
    (decided, accept, p): when not decided, accept with probability ``p`` in [0, 1) (the
    caller draws a uniform iff ``p > 0``). At ``beta = inf`` a move that changes E is decided
    by E alone; one that keeps E follows the field. With ``f = 0`` this is exactly the plain
    rule (``0.0 - beta * de`` is bitwise ``-beta * de``).
    """
    if beta < np.inf:
        x = fw - beta * de
    elif de > 0:
        return True, False, 0.0
    elif de < 0:
        return True, True, 1.0
    else:
        x = fw
    if x >= 0.0:
        return True, True, 1.0
    return False, False, np.exp(x)


@njit(inline="always")
def _field_accept(beta, de, fw, s0, s1, s2, s3):
    """:func:`_field_decision` with its uniform drawn when one is needed.
    Returns (accept, drew a uniform, s0, s1, s2, s3)."""
    decided, accept, pa = _field_decision(beta, de, fw)
    drew = False
    if not decided and pa > 0.0:
        x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        accept = u64_to_unit(x) < pa
        drew = True
    return accept, drew, s0, s1, s2, s3


@njit(inline="always")
def _prefetch_next_rows(cbits, s0, s1, s2, N, W):
    """Prefetch the bit rows of the sites the next two draws would give: the next proposal's
    site if this proposal takes no uniform, the one after (or the next site, if a uniform is
    taken). Hints only: the draws themselves happen later, in order."""
    j1 = np.int64(((_peek(s1) >> np.uint64(32)) * np.uint64(N)) >> np.uint64(32))
    j2 = np.int64(((_peek(s1 ^ s2 ^ s0) >> np.uint64(32)) * np.uint64(N)) >> np.uint64(32))
    for k in range(0, W, 8):
        prefetch_row(cbits, j1, k)
        prefetch_row(cbits, j2, k)


@njit
def _bits_consts(P, W, N):
    """(all-ones word, zero word, mask of the real patterns in the last word, prefetch?)."""
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    zero = np.uint64(0)
    rem = P - 64 * (W - 1)  # real patterns in the last word, 0..64
    if rem >= 64:
        lastmask = full
    elif rem <= 0:
        lastmask = zero
    else:
        lastmask = (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    return full, zero, lastmask, N * W * 8 > PREFETCH_BYTES


@njit(inline="always")
def _draw_sites(s0, s1, s2, s3, N, k):
    """Consume ``k`` site draws (the rest of a frozen chain's sweep); returns the state."""
    for _ in range(k):
        _, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
    return s0, s1, s2, s3


@njit(inline="always")
def _memo_clear(memo, nmark):
    """Forget the memoised rejections (after an accepted flip: the state changed)."""
    if nmark > 0:
        for k in range(memo.shape[0]):
            memo[k] = np.uint64(0)
    return np.int64(0)


@njit(inline="always")
def _planes_init(h, B, P, W, Wp, pl, mab, fb, valid, near):
    """Bit-sliced offsets ``U = (h - B) / 2 + U_B`` from the exact fields (padding lanes: 0,
    frozen), the far bitset ``fb`` (U outside [0, 255]), the window bitset ``near`` (U in
    [128, 135], see ``_numba.U_B``), the level bitset ``mab`` (h at A or B: U = 130 or 131)
    and the count at B; words W..Wp-1 are all padding."""
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    for k in range(Wp):
        nval = min(max(P - 64 * k, 0), 64)
        if k < W:
            planes_encode(h, 64 * k, B, nval, pl, k, Wp)
        else:
            for b in range(PLANES):
                pl[b * Wp + k] = np.uint64(0)
        valid[k] = full if nval == 64 else (np.uint64(1) << np.uint64(nval)) - np.uint64(1)
    nb = np.int64(0)
    for k in range(Wp):
        f = np.uint64(0)
        for b in range(LOW_PLANES, PLANES):
            f |= pl[b * Wp + k]
        mid = np.uint64(0)
        for b in range(3, LOW_PLANES - 1):
            mid |= pl[b * Wp + k]
        nr = pl[(LOW_PLANES - 1) * Wp + k] & ~(mid | f)
        b0 = pl[k]
        b1 = pl[Wp + k]
        b2 = pl[2 * Wp + k]
        fb[k] = f
        near[k] = nr
        mab[k] = nr & ~b2 & b1
        nb += np.int64(popcount64(mab[k] & ~b0))
    return nb


@njit(inline="always")
def _planes_to_fields(pl, Wp, h, B, P, W):
    """Write the exact fields of the real patterns back from the bit-sliced offsets."""
    for k in range(W):
        planes_decode(pl, k, Wp, h, 64 * k, B, min(P - 64 * k, 64))


@njit(inline="always")
def _pc(mab, cbits, i, neg, k):
    return np.int64(popcount64(mab[k] & (cbits[i, k] ^ neg)))


@njit(inline="always")
def _delta_ab(cbits, i, neg, mab, width):
    """``popcount(mab & S_i)`` over the words in use (dE_errors = this - the count at B).

    dE is on the chain's critical path, so its latency matters as much as its width. By
    ``width``: 2 or 4 (W <= 2 or 4), straight-line scalar code over that many words (the
    others are padding, where ``mab`` is 0); 16 (W <= 16), a plain loop over the padded
    row, which LLVM vectorises with a shorter reduction; otherwise 4-word vector blocks
    (:func:`~spinglass_nets._numba.delta_planes`). The choices were timed, not assumed."""
    if width == 2:
        return _pc(mab, cbits, i, neg, 0) + _pc(mab, cbits, i, neg, 1)
    if width == 4:
        return (_pc(mab, cbits, i, neg, 0) + _pc(mab, cbits, i, neg, 1)) + (
            _pc(mab, cbits, i, neg, 2) + _pc(mab, cbits, i, neg, 3))
    if width == 16:
        up = np.int64(0)
        for k in range(mab.shape[0]):
            up += _pc(mab, cbits, i, neg, k)
        return up
    return delta_planes(cbits, i, neg, mab)


@njit(inline="always")
def _flip_ab(pl, cbits, i, neg, valid, mab, fb, near, width):
    """:func:`~spinglass_nets._numba.flip_planes` with vectors no wider than the words in
    use (``width`` 2 or 4, from W; else 8-word blocks): a short update keeps its latency
    short. ``near``: the window bitset (``_numba.U_B``)."""
    if width == 2:
        return flip_planes2(pl, cbits, i, neg, valid, mab, fb, near)
    if width == 4:
        return flip_planes4(pl, cbits, i, neg, valid, mab, fb, near)
    return flip_planes(pl, cbits, i, neg, valid, mab, fb, near)


@njit(inline="always")
def _pair_ab(pl, cbits, i, neg, j, negj, valid, mab, fb, near, width):
    """:func:`~spinglass_nets._numba.pair_planes` sized as :func:`_flip_ab`."""
    if width == 2:
        return pair_planes2(pl, cbits, i, neg, j, negj, valid, mab, fb, near)
    if width == 4:
        return pair_planes4(pl, cbits, i, neg, j, negj, valid, mab, fb, near)
    return pair_planes(pl, cbits, i, neg, j, negj, valid, mab, fb, near)


@njit(inline="always")
def _pend_one_ab(pl, cbits, i, neg, mab, near, width):
    """:func:`~spinglass_nets._numba.pend_one` sized as :func:`_flip_ab`."""
    if width == 2:
        return pend_one2(pl, cbits, i, neg, mab, near)
    if width == 4:
        return pend_one4(pl, cbits, i, neg, mab, near)
    return pend_one(pl, cbits, i, neg, mab, near)


@njit(inline="always")
def _threshold(beta, de):
    """Integer form of ``u < exp(-beta de)`` for ``u = (x >> 11) 2**-53``: accept iff
    ``(x >> 11) < ceil(exp(-beta de) 2**53)``. Exact: scaling by a power of two is exact,
    and for an integer k, ``k < y`` iff ``k < ceil(y)``. 0 means no uniform is drawn."""
    return np.uint64(np.ceil(np.exp(-beta * de) * 9007199254740992.0))


@njit
def _bits_chain_errors(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, field, use_field, N, n_sweeps,
                       full, zero, pf):
    """The sweeps of chain ``c``, errors energy (see :func:`_metropolis_bits_chain`).

    Inside the call the fields live as bit-sliced offsets ``U = (h - B) / 2 + U_B``
    (:func:`spinglass_nets._numba.flip_planes`), exact for every field, and are written back
    to ``h`` at the end. dE needs one bitset, ``mab = {h in (A, B)}``, and the count ``nb``
    at B: ``dE = popcount(mab & S_i) - nb`` (a pattern at A in S becomes violated; one at B
    in S stays violated, counted once in each term; one at B outside S becomes satisfied).
    """
    s0, s1, s2, s3 = rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3]
    thr = np.empty(TABLE, dtype=np.uint64)
    tok = np.zeros(TABLE, dtype=np.bool_)
    tmax = np.int64(0)
    tbeta = np.float64(np.nan)
    nv = ints[c, I_NVIOL]
    acc = np.int64(0)
    hc = h[c]
    wc = w[c]
    # One 64-byte aligned scratch block per call: planes, level bits, far bits, valid lanes
    # (views made once here, not per proposal).
    Wp = (W + 7) & ~7
    buf = np.empty((PLANES + 4) * Wp + 8, dtype=np.uint64)
    o = np.int64(((-buf.ctypes.data) & 63) >> 3)
    pl = buf[o:o + PLANES * Wp]
    mab = buf[o + PLANES * Wp:o + (PLANES + 1) * Wp]
    fb = buf[o + (PLANES + 1) * Wp:o + (PLANES + 2) * Wp]
    valid = buf[o + (PLANES + 2) * Wp:o + (PLANES + 3) * Wp]
    near = buf[o + (PLANES + 3) * Wp:o + (PLANES + 4) * Wp]
    nb = _planes_init(hc, B, P, W, Wp, pl, mab, fb, valid, near)
    width = 2 if W <= 2 else (4 if W <= 4 else (16 if W <= 16 else 8))  # see _delta_ab, _flip_ab
    memo = np.zeros((N + 63) >> 6, dtype=np.uint64)
    nmark = np.int64(0)
    for t in range(n_sweeps):
        beta = betas[c, t]
        if beta != tbeta:
            for k in range(tmax):
                tok[k] = False
            tmax = 0
            tbeta = beta
        hot = beta < np.inf
        if hot and use_field == 0:
            # The hot path: the same chain and the same draws as the general loop below,
            # arranged for the CPU. The candidate uniform (the output of the state after
            # the site draw) and the state after it are computed before dE is known, off
            # the chain's critical path; the acceptance test is an integer compare
            # (:func:`_threshold`, memoised per dE in ``thr``) and updates are sized to W
            # (:func:`_delta_ab`, :func:`_flip_ab`). Written out here rather than in a
            # helper: array arguments of an inlined helper cost reference-count updates.
            acc0 = acc
            # Accepted flips go into the planes in pairs: the first one only rewrites mab and
            # nb (:func:`_pend_one_ab`, from the window bitset ``near``), the second applies
            # both; one left over at the end of the sweep is applied alone.
            pend = False  # an accepted flip not yet in the planes (mab and nb include it)
            pi = np.int64(0)
            pneg = zero
            for _ in range(N):
                i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
                if pf:
                    # Prefetch the bit row of the next proposal's site if a uniform is drawn
                    # here (the likely case at 20-30 % acceptance). Hints only. Measured at
                    # N = 4095 against prefetching both candidate rows (as the general loop
                    # below does), none, or rows 4-12 outputs further ahead (a look-ahead
                    # generator): this one row is as fast as none at alpha = 0.5 and ~4 %
                    # faster at alpha = 0.8; both rows ~3 % and look-ahead 8-20 % slower.
                    j2 = np.int64(((_peek(s1 ^ s2 ^ s0) >> np.uint64(32)) * np.uint64(N)) >> np.uint64(32))
                    for k in range(0, W, 8):
                        prefetch_row(cbits, j2, k)
                wi = wc[i]
                neg = zero if wi > 0 else full
                de = _delta_ab(cbits, i, neg, mab, width) - nb
                x, t0, t1, t2, t3 = xoshiro_next(s0, s1, s2, s3)  # the uniform if one is needed
                if de < TABLE:
                    dc = max(de, 0)
                    if not tok[dc]:
                        thr[dc] = _threshold(beta, dc) if dc > 0 else np.uint64(0)
                        tok[dc] = True
                        tmax = max(tmax, dc + 1)
                    th = thr[dc]
                else:
                    th = _threshold(beta, de)
                need = (de > 0) & (th != zero)  # a uniform is drawn iff dE > 0 and exp(-beta dE) > 0
                accept = (de <= 0) | ((x >> np.uint64(11)) < th)
                s0 = t0 if need else s0
                s1 = t1 if need else s1
                s2 = t2 if need else s2
                s3 = t3 if need else s3
                if accept:
                    nv += de
                    if pend:
                        # two accepted flips into the planes at once: each lane moves by
                        # -2, 0 or +2, so plane 0 is not rewritten (:func:`_pair_ab`)
                        nb = _pair_ab(pl, cbits, pi, pneg, i, neg, valid, mab, fb, near, width)
                    else:
                        nb = _pend_one_ab(pl, cbits, i, neg, mab, near, width)
                        pi = i
                        pneg = neg
                    pend = not pend
                    wc[i] = -wi
                    acc += 1
            if pend:
                nb = _flip_ab(pl, cbits, pi, pneg, valid, mab, fb, near, width)
            if acc != acc0:
                nmark = _memo_clear(memo, nmark)
            continue
        p = np.int64(0)
        while p < N:
            if not hot and nmark == N:
                # Frozen: every site is a memoised rejection, so the rest of this sweep
                # only consumes its site draws.
                s0, s1, s2, s3 = _draw_sites(s0, s1, s2, s3, N, N - p)
                break
            p += 1
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
            wd = i >> 6
            bit = np.uint64(1) << np.uint64(i & 63)
            if not hot and (memo[wd] & bit) != 0:
                continue
            if pf:
                _prefetch_next_rows(cbits, s0, s1, s2, N, W)
            wi = wc[i]
            neg = zero if wi > 0 else full
            de = _delta_ab(cbits, i, neg, mab, width) - nb
            drew = False
            if use_field == 1:
                fw = -2.0 * wi * field[c, i]
                accept, drew, s0, s1, s2, s3 = _field_accept(beta, np.float64(de), fw, s0, s1, s2, s3)
            else:
                accept = de <= 0  # beta = inf here: dE > 0 is rejected without a draw
            if accept:
                nv += de
                nb = _flip_ab(pl, cbits, i, neg, valid, mab, fb, near, width)
                wc[i] = -wi
                acc += 1
                nmark = _memo_clear(memo, nmark)
            elif not hot and not drew:
                # beta = inf and rejected without a draw: a function of the state alone,
                # so it repeats (and draws nothing) until some flip is accepted.
                memo[wd] |= bit
                nmark += 1
    _planes_to_fields(pl, Wp, hc, B, P, W)
    _rebuild_bits16(hc, A, B, la[c], lb[c], vb[c], W)
    ints[c, I_NVIOL] = nv
    ints[c, I_ACC] += acc
    ints[c, I_PROP] += n_sweeps * N
    rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3] = s0, s1, s2, s3


@njit
def _bits_chain_linear(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, kappa, inv_sqrt_n, field,
                       use_field, N, n_sweeps, full, zero, lastmask, pf):
    """The sweeps of chain ``c``, linear energy (see :func:`_metropolis_bits_chain`)."""
    s0, s1, s2, s3 = rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3]
    nv = ints[c, I_NVIOL]
    sv = ints[c, I_SUMV]
    acc = np.int64(0)
    hc = h[c]
    lac = la[c]
    lbc = lb[c]
    vbc = vb[c]
    wc = w[c]
    memo = np.zeros((N + 63) >> 6, dtype=np.uint64)
    nmark = np.int64(0)
    for t in range(n_sweeps):
        beta = betas[c, t]
        hot = beta < np.inf
        p = np.int64(0)
        while p < N:
            if not hot and nmark == N:
                s0, s1, s2, s3 = _draw_sites(s0, s1, s2, s3, N, N - p)  # frozen (see _bits_chain_errors)
                break
            p += 1
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
            wd = i >> 6
            bit = np.uint64(1) << np.uint64(i & 63)
            if not hot and (memo[wd] & bit) != 0:
                continue
            if pf:
                _prefetch_next_rows(cbits, s0, s1, s2, N, W)
            wi = wc[i]
            neg = zero if wi > 0 else full
            up, down, n_vs, n_vns = _delta_linear(cbits, i, neg, lac, lbc, vbc, W)
            dn = up - down
            ds = B * up - 2 * n_vs - B * down + 2 * n_vns
            e_old = kappa * nv - sv * inv_sqrt_n
            e_new = kappa * (nv + dn) - (sv + ds) * inv_sqrt_n
            de_f = e_new - e_old
            drew = False
            if use_field == 1:
                fw = -2.0 * wi * field[c, i]
                accept, drew, s0, s1, s2, s3 = _field_accept(beta, de_f, fw, s0, s1, s2, s3)
            elif de_f <= 0.0:
                accept = True
            elif hot:
                x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                accept = u64_to_unit(x) < np.exp(-beta * de_f)
            else:
                accept = False
            if accept:
                nv += dn
                sv += ds
                _flip_update(hc, cbits, i, neg, A, B, lac, lbc, vbc, W, lastmask)
                wc[i] = -wi
                acc += 1
                nmark = _memo_clear(memo, nmark)
            elif not hot and not drew:
                memo[wd] |= bit  # see _bits_chain_errors
                nmark += 1
    ints[c, I_NVIOL] = nv
    ints[c, I_SUMV] = sv
    ints[c, I_ACC] += acc
    ints[c, I_PROP] += n_sweeps * N
    rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3] = s0, s1, s2, s3


@njit
def _metropolis_bits_chain(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, linear, kappa, inv_sqrt_n,
                           field, use_field, N, n_sweeps, full, zero, lastmask, pf):
    """The sweeps of chain ``c`` (the body of :func:`metropolis_bits`'s chain loop).

    At ``beta = inf`` a proposal rejected without a uniform is memoised (one bit per site)
    until the next accepted flip: its outcome is a function of the unchanged state, so
    repeating it would change nothing and draw nothing. A chain whose sites are all
    memoised is frozen and its remaining ``beta = inf`` proposals only draw their sites.
    The trajectory and the generator stream are those of the plain chain.
    """
    if linear == 0:
        _bits_chain_errors(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, field, use_field, N,
                           n_sweeps, full, zero, pf)
    else:
        _bits_chain_linear(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, kappa, inv_sqrt_n, field,
                           use_field, N, n_sweeps, full, zero, lastmask, pf)


@njit(parallel=True)
def metropolis_bits(cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, linear, kappa, inv_sqrt_n,
                    field, use_field, active):
    """Run ``betas.shape[1]`` Metropolis sweeps on every chain (+-1 patterns, perceptron).

    Parameters
    ----------
    cbits : (N, Wp) uint64
        Bitset rows of ``c_mu,i > 0`` (c = y xi), padding bits 0, each row padded with zero
        words to ``Wp`` = W rounded up to a multiple of 8 (the errors energy reads whole
        8-word blocks). The only instance data the kernel reads: the +-2 field steps of a
        flip are derived from these bits.
    w : (C, Npad) int8
        Weights (first N columns used), updated in place.
    h : (C, Ppad) int16
        Fields, padding entries at ``SENTINEL``; updated in place.
    la, lb, vb : (C, Wpad) uint64
        Bitsets of fields at A, at B, and <= B; updated in place.
    ints : (C, 8) int64
        Per-chain integers (violated count, violated field sum, accepted, proposed).
    rng : (C, 8) uint64
        xoshiro256** states in columns 0-3; advanced in place.
    betas : (C, S) float64
        Inverse temperature of each chain for each of the S sweeps (may be inf).
    A, B : int
        Field levels (see module docstring).
    W : int
        Number of 64-pattern words in use (``W * 64 >= P``, ``W >= 1``).
    P : int
        Number of patterns.
    linear : int
        0 for the errors energy, 1 for the linear energy.
    kappa, inv_sqrt_n : float
        Margin and 1/sqrt(N) (linear energy only).
    field : (C, Npad) float64
        External field: with ``use_field = 1`` chain c samples
        ``exp(-beta E(w) + sum_i field[c, i] w_i)`` (:func:`_field_decision`).
    use_field : int
        0: plain Metropolis (``field`` unread), 1: with the field.
    active : (C,) int8
        Chains with 0 are skipped (no draws, no counters): sequential replica updates.
    """
    C = w.shape[0]
    N = cbits.shape[0]
    n_sweeps = betas.shape[1]
    full, zero, lastmask, pf = _bits_consts(P, W, N)
    for c in prange(C):
        if active[c] != 0:
            _metropolis_bits_chain(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, linear, kappa,
                                   inv_sqrt_n, field, use_field, N, n_sweeps, full, zero, lastmask, pf)


@njit
def metropolis_bits_serial(cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, linear, kappa, inv_sqrt_n,
                           field, use_field, active):
    """:func:`metropolis_bits` without threads (same results): for short blocks, where a
    parallel call would cost more in thread wake-ups than it saves."""
    C = w.shape[0]
    N = cbits.shape[0]
    n_sweeps = betas.shape[1]
    full, zero, lastmask, pf = _bits_consts(P, W, N)
    for c in range(C):
        if active[c] != 0:
            _metropolis_bits_chain(c, cbits, w, h, la, lb, vb, ints, rng, betas, A, B, W, P, linear, kappa,
                                   inv_sqrt_n, field, use_field, N, n_sweeps, full, zero, lastmask, pf)


@njit
def pt_swap_pass(energies, betas_k, slot_of, chain_at, offset, uniforms, accepted, attempted):
    """One replica-exchange pass over neighbouring temperature pairs of every PT system.

    Pairs (k, k+1) for k = offset, offset+2, ... (even/odd alternation); the configurations
    at temperatures k and k+1 exchange temperatures with probability
    ``min(1, exp((beta_{k+1} - beta_k)(E_{k+1} - E_k)))``, decided by ``uniforms[s, k]``
    (drawn by the caller from the system's stream, so this logic is testable with given
    uniforms).

    Parameters
    ----------
    energies : (M, K) float64
        Energy of the configuration held by replica j of system s (``energies[s, j]``).
    betas_k : (K,) float64
        Temperature ladder, ascending in beta.
    slot_of : (M, K) int64
        ``slot_of[s, j]`` = temperature index of replica j; updated in place.
    chain_at : (M, K) int64
        ``chain_at[s, k]`` = replica at temperature k; updated in place.
    offset : int
        0 or 1.
    uniforms : (M, K) float64
    accepted, attempted : (K,) int64
        Per-pair counters (index k for the pair (k, k+1)); updated in place.
    """
    M, K = chain_at.shape
    for s in range(M):
        for k in range(offset, K - 1, 2):
            a = chain_at[s, k]
            b = chain_at[s, k + 1]
            x = (betas_k[k + 1] - betas_k[k]) * (energies[s, b] - energies[s, a])
            attempted[k] += 1
            if x >= 0.0 or uniforms[s, k] < np.exp(x):
                chain_at[s, k] = b
                chain_at[s, k + 1] = a
                slot_of[s, a] = k + 1
                slot_of[s, b] = k
                accepted[k] += 1


@njit
def centre_sweep(centre, S, gamma, rng):
    """One Metropolis sweep of each chain's explicit centre in the robust ensemble.

    With ``pi(centre | replicas) ∝ exp(gamma sum_i centre_i S_i)``, ``S_i = sum_a w^a_i``,
    flipping ``centre_i`` is accepted with ``min(1, exp(-2 gamma centre_i S_i))``.

    Parameters
    ----------
    centre : (C, N) int8
        Updated in place.
    S : (C, N) int64
        Replica sums.
    gamma : float
    rng : (C, 4) uint64
        The centres' xoshiro256** states; advanced in place.
    """
    C, N = centre.shape
    for c in range(C):  # serial: a centre sweep is cheap; a parallel call costs a thread wake-up
        s0, s1, s2, s3 = rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3]
        for _ in range(N):
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
            arg = -2.0 * gamma * centre[c, i] * S[c, i]
            if arg >= 0.0:
                centre[c, i] = -centre[c, i]
            else:
                p = np.exp(arg)
                if p > 0.0:
                    x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                    if u64_to_unit(x) < p:
                        centre[c, i] = -centre[c, i]
        rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3] = s0, s1, s2, s3
