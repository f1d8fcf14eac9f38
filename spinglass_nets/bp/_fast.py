"""Fused single-pass AMP iteration for +-1 patterns (the fast path of focusing / reinforced BP).

The reference AMP iteration (:func:`~._kernels.amp_forward`, :func:`~._kernels.amp_channel`,
:func:`~._kernels.amp_backward`) reads the P x N int8 couplings twice per iteration (once as
``cT`` for the forward axpy, once as ``c`` for the back projection) with float64 accumulators.
For +-1 patterns the forward quantities of pattern mu depend only on row mu of ``c = y xi``
(the variance ``V = (1/N) sum_i v_i`` is the same for every pattern), so one pass over the rows
does everything:

    row mu:  omega_mu = F . a - V g_mu(old)             (float32 dot, float64 after)
             hs_mu = c_mu . s = N - 2 popcount(c_mu xor s)   (exact integer solution check)
             g_mu, -dg_mu from the output channel (float64)
             b += g_mu c_mu / sqrt(N)                   (float32 axpy into a block partial)

Rows are **bit-packed** (bit set where ``c = +1``): the whole matrix is P N / 8 bytes (9.4 MB
at N = 10001, alpha = 0.75, which stays in the L3 cache between iterations, where the int8
matrix, 75 MB, streamed from memory twice). A +-1 dot product with a float vector is a masked
select of ``a`` or ``-a`` per 16 lanes (explicit LLVM vector IR through Numba intrinsics:
``<16 x i1>`` masks from 16-bit words, kmov + masked ops on AVX-512); the back projection adds
four rows per load/store of the accumulator. Lanes and reduction trees are fixed in the IR, so
the float32 results are the same on every machine and no fast-math flag is used.

**Determinism across thread counts.** Patterns are cut into ``NBLK`` fixed blocks (a constant,
not the number of threads, processed with ``prange``); block k accumulates its back projection
into its own row ``bpart[k]`` and the rows are added in block order. So 1 and 2 threads give
the same bits (tested).

Accuracy: float32 sums of N <= 10^5 terms of size <= 1 have relative errors ~1e-7 - 1e-6,
far below BP's tolerances (1e-3 per marginal per step) and irrelevant to the sign decisions;
``hs`` is exact. ``tests/test_bp_fast.py`` compares the fused iteration with the float64
reference. The free entropy and :func:`~.core.bp` keep the float64 path.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._numba import njit
from .._numba import popcount64
from ._kernels import U_MAX, r_out

NBLK = 16  # pattern blocks of the back projection: fixed, independent of the thread count


def padded(n: int) -> int:
    """N rounded up to a multiple of 64 (row length of the padded int8 coupling matrix)."""
    return -(-n // 64) * 64


_F16 = ir.VectorType(ir.FloatType(), 16)
_I8X16 = ir.VectorType(ir.IntType(8), 16)


@intrinsic
def dot_i8_f32(typingctx, row, a, npad):
    """``sum_i row[i] * a[i]`` in float32 over the first ``npad`` entries (a multiple of 64)
    of a C-contiguous 1-d int8 array and a float32 array.

    Explicit LLVM vector IR: four ``<16 x float>`` accumulators (lane l of accumulator j takes
    the entries ``i = 64 t + 16 j + l``), added as ``(acc0 + acc1) + (acc2 + acc3)`` and then
    lane by lane in a fixed pairwise tree. Every addition has a fixed place in the code, so the
    result is the same on every machine (AVX-512, AVX2 or SSE, where LLVM splits the vectors)
    and no fast-math flag is needed (a plain float loop does not vectorise without one).
    """
    ok = (isinstance(row, types.Array) and row.ndim == 1 and row.dtype == types.int8 and row.layout == "C"
          and isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.float32 and a.layout == "C"
          and isinstance(npad, types.Integer))
    if not ok:
        return None
    sig = types.float32(row, a, npad)

    def codegen(context, builder, signature, args):
        rary = context.make_array(signature.args[0])(context, builder, args[0])
        aary = context.make_array(signature.args[1])(context, builder, args[1])
        n = context.cast(builder, args[2], signature.args[2], types.intp)
        i64 = ir.IntType(64)
        zero = ir.Constant(_F16, [0.0] * 16)
        accs = [cgutils.alloca_once_value(builder, zero) for _ in range(4)]
        nchunks = builder.sdiv(n, ir.Constant(i64, 64))
        with cgutils.for_range(builder, nchunks) as loop:
            base = builder.mul(loop.index, ir.Constant(i64, 64))
            for j in range(4):
                off = builder.add(base, ir.Constant(i64, 16 * j))
                rp = builder.bitcast(builder.gep(rary.data, [off]), _I8X16.as_pointer())
                ap = builder.bitcast(builder.gep(aary.data, [off]), _F16.as_pointer())
                rv = builder.sitofp(builder.load(rp, align=1), _F16)
                av = builder.load(ap, align=4)
                builder.store(builder.fadd(builder.load(accs[j]), builder.fmul(rv, av)), accs[j])
        v01 = builder.fadd(builder.load(accs[0]), builder.load(accs[1]))
        v23 = builder.fadd(builder.load(accs[2]), builder.load(accs[3]))
        v = builder.fadd(v01, v23)
        lanes = [builder.extract_element(v, ir.Constant(ir.IntType(32), k)) for k in range(16)]
        while len(lanes) > 1:
            lanes = [builder.fadd(lanes[k], lanes[k + 1]) for k in range(0, len(lanes), 2)]
        return lanes[0]

    return sig, codegen


_M16 = ir.VectorType(ir.IntType(1), 16)


def _is_1d(t, dtype):
    return isinstance(t, types.Array) and t.ndim == 1 and t.dtype == dtype and t.layout == "C"


@intrinsic
def dot_bits_f32(typingctx, bits, a, npad):
    """``sum_i c_i a_i`` in float32 for a +-1 row stored as bits (``c_i = +1`` where bit i is
    set, ``-1`` elsewhere): ``bits`` a C-contiguous 1-d uint16 array (bit k of word w is
    entry ``16 w + k``), ``a`` float32, ``npad`` a multiple of 64.

    Each 16-bit word is a ``<16 x i1>`` mask selecting ``a`` or ``-a`` (AVX-512: one masked
    op, no byte-to-float conversion); four ``<16 x float>`` accumulators and the fixed
    reduction order of :func:`dot_i8_f32`, so it returns the same bits as
    ``dot_i8_f32(c, a, npad)`` for the same row.
    """
    if not (_is_1d(bits, types.uint16) and _is_1d(a, types.float32) and isinstance(npad, types.Integer)):
        return None
    sig = types.float32(bits, a, npad)

    def codegen(context, builder, signature, args):
        bary = context.make_array(signature.args[0])(context, builder, args[0])
        aary = context.make_array(signature.args[1])(context, builder, args[1])
        n = context.cast(builder, args[2], signature.args[2], types.intp)
        i64 = ir.IntType(64)
        zero = ir.Constant(_F16, [0.0] * 16)
        accs = [cgutils.alloca_once_value(builder, zero) for _ in range(4)]
        nchunks = builder.sdiv(n, ir.Constant(i64, 64))
        with cgutils.for_range(builder, nchunks) as loop:
            base = builder.mul(loop.index, ir.Constant(i64, 64))
            wbase = builder.mul(loop.index, ir.Constant(i64, 4))
            for j in range(4):
                off = builder.add(base, ir.Constant(i64, 16 * j))
                word = builder.load(builder.gep(bary.data, [builder.add(wbase, ir.Constant(i64, j))]))
                m = builder.bitcast(word, _M16)
                ap = builder.bitcast(builder.gep(aary.data, [off]), _F16.as_pointer())
                av = builder.load(ap, align=4)
                term = builder.select(m, av, builder.fsub(ir.Constant(_F16, [-0.0] * 16), av))
                builder.store(builder.fadd(builder.load(accs[j]), term), accs[j])
        v01 = builder.fadd(builder.load(accs[0]), builder.load(accs[1]))
        v23 = builder.fadd(builder.load(accs[2]), builder.load(accs[3]))
        v = builder.fadd(v01, v23)
        lanes = [builder.extract_element(v, ir.Constant(ir.IntType(32), k)) for k in range(16)]
        while len(lanes) > 1:
            lanes = [builder.fadd(lanes[k], lanes[k + 1]) for k in range(0, len(lanes), 2)]
        return lanes[0]

    return sig, codegen


@intrinsic
def axpy_bits4(typingctx, acc, r0, r1, r2, r3, g0, g1, g2, g3, npad):
    """``acc[i] += (c0_i g0 + c1_i g1) + (c2_i g2 + c3_i g3)`` for four +-1 rows stored as bits
    (uint16 words as in :func:`dot_bits_f32`), float32 ``acc`` and ``g``: each term is a masked
    select of ``g`` or ``-g``; the accumulator is loaded and stored once per four rows. A row
    with ``g = 0`` adds +-0, which leaves every value unchanged (use it to pad a group)."""
    rows = (r0, r1, r2, r3)
    gs = (g0, g1, g2, g3)
    if not (_is_1d(acc, types.float32) and all(_is_1d(r, types.uint16) for r in rows)
            and all(g == types.float32 for g in gs) and isinstance(npad, types.Integer)):
        return None
    sig = types.void(acc, r0, r1, r2, r3, g0, g1, g2, g3, npad)

    def codegen(context, builder, signature, args):
        cary = context.make_array(signature.args[0])(context, builder, args[0])
        rarys = [context.make_array(signature.args[1 + j])(context, builder, args[1 + j]) for j in range(4)]
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        n = context.cast(builder, args[9], signature.args[9], types.intp)
        splats = []
        for j in range(4):
            gv = args[5 + j]
            v = builder.insert_element(ir.Constant(_F16, ir.Undefined), gv, ir.Constant(i32, 0))
            zeros = ir.Constant(ir.VectorType(i32, 16), [0] * 16)
            v = builder.shuffle_vector(v, ir.Constant(_F16, ir.Undefined), zeros)
            splats.append((v, builder.fsub(ir.Constant(_F16, [-0.0] * 16), v)))
        nw = builder.sdiv(n, ir.Constant(i64, 16))
        with cgutils.for_range(builder, nw) as loop:
            w = loop.index
            off = builder.mul(w, ir.Constant(i64, 16))
            terms = []
            for j in range(4):
                m = builder.bitcast(builder.load(builder.gep(rarys[j].data, [w])), _M16)
                terms.append(builder.select(m, splats[j][0], splats[j][1]))
            t = builder.fadd(builder.fadd(terms[0], terms[1]), builder.fadd(terms[2], terms[3]))
            cp = builder.bitcast(builder.gep(cary.data, [off]), _F16.as_pointer())
            builder.store(builder.fadd(builder.load(cp, align=4), t), cp, align=4)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _channel(om, kappa, log_eps, sv, var):
    x = (kappa - om) / sv
    r = r_out(x, log_eps)
    d = r * (r - x) / var
    if d < 0.0:  # round-off only (see _kernels.amp_channel)
        d = 0.0
    return r / sv, d


@njit(inline="always")
def _row(mu, c16, c64, n, npad, nw64, scale, kappa, log_eps, a32, s64, var, sv, g, mdg, omega, hs):
    om = scale * np.float64(dot_bits_f32(c16[mu], a32, npad)) - var * g[mu]
    pop = np.int64(0)
    for w in range(nw64):
        pop += np.int64(popcount64(c64[mu, w] ^ s64[w]))
    hs[mu] = n - 2 * pop
    gm, d = _channel(om, kappa, log_eps, sv, var)
    omega[mu] = om
    g[mu] = gm
    mdg[mu] = d
    return np.float32(gm * scale)


@njit(inline="always")
def _block(k, c16, c64, n, scale, kappa, log_eps, a32, s64, var, g, mdg, omega, hs, bpart):
    p = c16.shape[0]
    npad = a32.shape[0]
    nw64 = c64.shape[1]
    nblk = bpart.shape[0]
    sv = math.sqrt(var)
    z = np.float32(0.0)
    lo = (k * p) // nblk
    hi = ((k + 1) * p) // nblk
    acc = bpart[k]
    for i in range(npad):
        acc[i] = z
    mu = lo
    while mu < hi:
        m0 = mu
        m1 = min(mu + 1, hi - 1)
        m2 = min(mu + 2, hi - 1)
        m3 = min(mu + 3, hi - 1)
        g0 = _row(m0, c16, c64, n, npad, nw64, scale, kappa, log_eps, a32, s64, var, sv, g, mdg, omega, hs)
        g1 = g2 = g3 = z
        if mu + 1 < hi:
            g1 = _row(m1, c16, c64, n, npad, nw64, scale, kappa, log_eps, a32, s64, var, sv, g, mdg, omega, hs)
        if mu + 2 < hi:
            g2 = _row(m2, c16, c64, n, npad, nw64, scale, kappa, log_eps, a32, s64, var, sv, g, mdg, omega, hs)
        if mu + 3 < hi:
            g3 = _row(m3, c16, c64, n, npad, nw64, scale, kappa, log_eps, a32, s64, var, sv, g, mdg, omega, hs)
        axpy_bits4(acc, c16[m0], c16[m1], c16[m2], c16[m3], g0, g1, g2, g3, npad)
        mu += 4


_ROWS_DOC = """The pattern pass of one fused AMP iteration (+-1 patterns, bit-packed rows).

    :func:`amp_rows` runs the ``NBLK`` pattern blocks one after another;
    :func:`amp_rows_parallel` spreads them over Numba's threads with ``prange``. Both give the
    same bits (each block writes only its own outputs).

    Parameters
    ----------
    c16, c64 : (P, Npad/16) uint16 and (P, Npad/64) uint64 views of the same bits:
        bit i of row mu is set where ``y_mu xi_{mu i} = +1`` (padding bits are 0).
    n : int, the true N.
    scale : float, ``1 / sqrt(N)``.
    kappa, log_eps : channel parameters (see :mod:`._kernels`).
    a32 : (Npad,) float32, means ``a_i`` (zero padding).
    s64 : (Npad/64,) uint64, bits of the sign configuration (``s_i = +1``; padding 0).
    var : float, ``V = (1/N) sum_i v_i`` (clipped at V_MIN by the caller).
    g : (P,) float64, on entry the previous ``g`` (Onsager term), on exit the new one.
    mdg, omega : (P,) float64, outputs ``-dg/domega`` and ``omega``.
    hs : (P,) int64, output: the exact fields ``c_mu . s = N - 2 popcount(c_mu xor s)``.
    bpart : (NBLK, Npad) float32, output: block partials of ``sum_mu c_{mu i} g_mu / sqrt(N)``.
    """


@njit
def amp_rows(c16, c64, n, scale, kappa, log_eps, a32, s64, var, g, mdg, omega, hs, bpart):
    for k in range(bpart.shape[0]):
        _block(k, c16, c64, n, scale, kappa, log_eps, a32, s64, var, g, mdg, omega, hs, bpart)


@njit(parallel=True)
def amp_rows_parallel(c16, c64, n, scale, kappa, log_eps, a32, s64, var, g, mdg, omega, hs, bpart):
    for k in prange(bpart.shape[0]):
        _block(k, c16, c64, n, scale, kappa, log_eps, a32, s64, var, g, mdg, omega, hs, bpart)


amp_rows.__doc__ = amp_rows_parallel.__doc__ = _ROWS_DOC


@njit
def amp_prepare(hext, hpat, a, v, a32, s64):
    """Float32 copy of the means, bits of the signs of the total fields (``>= 0`` is +1);
    returns ``sum_i v_i`` (float64, in index order)."""
    n = hpat.shape[0]
    vs = 0.0
    for w in range(s64.shape[0]):
        s64[w] = np.uint64(0)
    for i in range(n):
        a32[i] = np.float32(a[i])
        if hext[i] + hpat[i] >= 0.0:
            s64[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
        vs += v[i]
    return vs


def pack_rows(c):
    """(P, N) +-1 couplings -> (P, Npad/8) uint8 bit rows (bit i set where c = +1, little bit
    order, zero padding) whose uint16 / uint64 views feed :func:`amp_rows`."""
    p, n = c.shape
    npad = padded(n)
    out = np.zeros((p, npad // 8), dtype=np.uint8)
    out[:, : -(-n // 8)] = np.packbits(np.asarray(c) > 0, axis=1, bitorder="little")
    return out


def unpack_signs(s64, n):
    """The +-1 int8 configuration held in the sign bits ``s64``."""
    bits = np.unpackbits(s64.view(np.uint8), bitorder="little")[:n]
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


@njit
def amp_finish(bpart, mdg, scale, a, v, hpat, hext, damping, hs, thr):
    """Reduce the block partials in block order and update the messages.

    ``hpat <- damping hpat + (1 - damping) clip(b + a A)``, ``a <- tanh(hext + hpat)``,
    ``v <- 1 - a^2``, with ``A = (1/N) sum_mu (-dg_mu)``. Returns ``(delta, errors)``:
    the largest change of a mean and the number of patterns with ``hs < thr``.
    """
    nblk = bpart.shape[0]
    n = hpat.shape[0]
    p = mdg.shape[0]
    tot = 0.0
    errors = 0
    for mu in range(p):
        tot += mdg[mu]
        if hs[mu] < thr:
            errors += 1
    acoef = tot * scale * scale
    cap = U_MAX * p
    delta = 0.0
    for i in range(n):
        b = 0.0
        for k in range(nblk):
            b += np.float64(bpart[k, i])
        new = b + a[i] * acoef
        if new > cap:
            new = cap
        elif new < -cap:
            new = -cap
        h = damping * hpat[i] + (1.0 - damping) * new
        hpat[i] = h
        an = math.tanh(hext[i] + h)
        dd = abs(an - a[i])
        if dd > delta:
            delta = dd
        a[i] = an
        v[i] = 1.0 - an * an
    return delta, errors
