"""The one shared ``njit`` and a few LLVM intrinsics used by every kernel.

Caching of compiled kernels is on by default (so a warm first call costs milliseconds);
set ``SPINGLASS_NETS_NUMBA_CACHE=0`` to turn it off (read-only installs, debugging).
``fastmath`` stays off everywhere: floating-point results must be bit-reproducible.

Numba keys a cached function on its own source file only, but the kernels of this package
compile in code from other files (the intrinsics here, the generator of ``_rng.py``, helpers
of another kernel module): editing one of those alone would leave stale machine code in the
caches of the others. So the package's functions get cache locators whose source stamp also
carries a digest of every file with compiled code (``CACHE_DEPENDENCIES``;
:func:`_install_cache_locators`); functions outside the package are not affected.
"""

from __future__ import annotations

import hashlib
import os

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE = os.environ.get("SPINGLASS_NETS_NUMBA_CACHE", "1") != "0"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Every file of the package with compiled code (a test keeps this list complete): an edit of
# any of them recompiles every cached kernel of the package on its next call.
CACHE_DEPENDENCIES = ("_numba.py", "_rng.py", "bp/_fast.py", "bp/_kernels.py", "exact/_kernels.py",
                      "models/_kernels.py", "samplers/_engine.py", "samplers/_float_kernels.py", "samplers/_kernels.py",
                      "solvers/_kernels.py")


def dependency_digest() -> str:
    """SHA-1 of the files with compiled code (``CACHE_DEPENDENCIES``)."""
    h = hashlib.sha1()
    for name in CACHE_DEPENDENCIES:
        with open(os.path.join(PACKAGE_DIR, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _install_cache_locators():
    """Put, before each of Numba's file-backed cache locators, a subclass that only takes the
    package's own functions and adds :func:`dependency_digest` to their source stamp (the
    index of a cached function records the stamp; a different stamp means recompile). Uses
    Numba's locator list, an internal that has kept its shape from 0.58 to 0.68; if it is
    missing the plain locators stay in charge. Idempotent."""
    try:
        from numba.core import caching

        classes = caching.CacheImpl._locator_classes
    except (ImportError, AttributeError):  # pragma: no cover - a Numba without the hook
        return
    if any(getattr(c, "_spinglass_nets", False) for c in classes):
        return
    digest = dependency_digest()
    wanted = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    out = []
    for base in classes:
        if base.__name__.lstrip("_") in wanted:
            out.append(_package_locator(base, digest))
        out.append(base)
    classes[:] = out


def _package_locator(base, digest):
    class PackageLocator(base):
        _spinglass_nets = True

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.abspath(py_file).startswith(PACKAGE_DIR + os.sep):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return (super().get_source_stamp(), digest)

    PackageLocator.__name__ = PackageLocator.__qualname__ = "SpinglassNets" + base.__name__.lstrip("_")
    return PackageLocator


_install_cache_locators()


def njit(*args, **kwargs):
    """``numba.njit`` with the package defaults (``cache`` per env, ``nogil=True``).

    Use as ``@njit`` or ``@njit(parallel=True)``.
    """
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("nogil", True)
    if len(args) == 1 and callable(args[0]) and not kwargs.get("_called", False):
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)


@intrinsic
def popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``; vectorises to ``vpopcntq``)."""
    if x != types.uint64:
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return sig, codegen


# --- explicit <64 x i16> vector IR for the bit-packed kernel (DESIGN.md section 4) -------
# One 64-pattern word of int16 fields is one <64 x i16> value (two zmm registers on
# AVX-512BW). A uint64 word bitcast to <64 x i1> is a mask register (kmov), so "field
# moves by -2 where the bit is set, +2 elsewhere" is one masked select, and a vector
# compare bitcast back to i64 is a bitset word. LLVM does not find this from a scalar
# loop that packs compare results with shifts.

_V16 = ir.VectorType(ir.IntType(16), 64)
_M64 = ir.VectorType(ir.IntType(1), 64)


def _splat16(builder, value):
    """<64 x i16> with every lane = ``value`` (an i64, truncated)."""
    x = builder.trunc(value, ir.IntType(16))
    v = builder.insert_element(ir.Constant(_V16, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64)
    return builder.shuffle_vector(v, ir.Constant(_V16, ir.Undefined), zeros)


def _flip_word16_codegen(n_out):
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i64 = ir.IntType(64)
        base_v = context.cast(builder, args[1], signature.args[1], types.int64)
        a_v = context.cast(builder, args[4], signature.args[4], types.int64)
        b_v = context.cast(builder, args[5], signature.args[5], types.int64)
        ptr = builder.gep(ary.data, [base_v])
        vptr = builder.bitcast(ptr, _V16.as_pointer())
        old = builder.load(vptr, align=2)
        down = builder.bitcast(args[2], _M64)
        ok = builder.bitcast(args[3], _M64)
        two = ir.Constant(_V16, [2] * 64)
        mtwo = ir.Constant(_V16, [-2] * 64)
        zero = ir.Constant(_V16, [0] * 64)
        step = builder.select(ok, builder.select(down, mtwo, two), zero)
        new = builder.add(old, step)
        builder.store(new, vptr, align=2)
        bv = _splat16(builder, b_v)
        out = [
            builder.bitcast(builder.icmp_signed("==", new, _splat16(builder, a_v)), i64),
            builder.bitcast(builder.icmp_signed("==", new, bv), i64),
        ]
        if n_out == 3:
            out.append(builder.bitcast(builder.icmp_signed("<=", new, bv), i64))
        return context.make_tuple(builder, signature.return_type, out)

    return codegen


def _flip_word16_typer(n_out):
    def typer(typingctx, h, base, s, valid, A, B):
        if not (isinstance(h, types.Array) and h.dtype == types.int16 and h.ndim == 1 and h.layout == "C"):
            return None
        if s != types.uint64 or valid != types.uint64:
            return None
        if not all(isinstance(t, types.Integer) for t in (base, A, B)):
            return None
        sig = types.UniTuple(types.uint64, n_out)(h, base, s, valid, A, B)
        return sig, _flip_word16_codegen(n_out)

    return typer


def _flip_word16(typingctx, h, base, s, valid, A, B):
    """Flip-update one 64-pattern word of int16 fields and return its level bitsets.

    ``h[base:base+64]`` (a C-contiguous 1-d int16 array; ``base`` a multiple of 64) moves
    by -2 on the patterns whose bit is set in ``s`` and by +2 on the others, only where
    ``valid`` has its bit set (padding patterns keep their value; ``valid = 0`` only
    reads). Returns the uint64 bitsets ``(h == A, h == B, h <= B)`` of the updated word
    (bit j <-> ``h[base + j]``). Integer arithmetic wraps like int16; callers keep |h|
    far from the int16 limits.
    """
    return _flip_word16_typer(3)(typingctx, h, base, s, valid, A, B)


_flip_word16.__name__ = "flip_word16"
flip_word16 = intrinsic(_flip_word16)


# --- bit-sliced field offsets (errors energy; see samplers._kernels) ---------------------
# A 64-pattern word of 16-bit integers U is held as 16 uint64 bit planes (plane b = bit b of
# every lane), so "+1 on some lanes, -1 on the others" is a ripple carry of plain 64-bit
# logic, eight words (one zmm register) at a time, with no mask-register traffic and no
# byte-to-bit packing: the level bitsets are logic functions of the planes. Only the low 8
# planes are touched on every flip; the high 8 only in the blocks where a lane's low byte
# wraps (a lane some 126-131 steps from the levels).

PLANES = 16
LOW_PLANES = 8
_I64 = ir.IntType(64)
_V8Q = ir.VectorType(_I64, 8)
_I32 = ir.IntType(32)


def _splat_q(builder, value, vw=8):
    vt = ir.VectorType(_I64, vw)
    v = builder.insert_element(ir.Constant(vt, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(_I32, vw), [0] * vw))


def _vq_ptr(builder, base, off, vw=8):
    return builder.bitcast(builder.gep(base, [off]), ir.VectorType(_I64, vw).as_pointer())


def _bitval16(b):
    """The int16 value of bit b alone (bit 15 is the sign: -32768)."""
    return -32768 if b == 15 else 1 << b


def _is_u64_vec(t):
    return isinstance(t, types.Array) and t.dtype == types.uint64 and t.ndim == 1 and t.layout == "C"


def _is_cbits(t):
    return isinstance(t, types.Array) and t.dtype == types.uint64 and t.ndim == 2 and t.layout == "C"


def _row_ptr(context, builder, aryty, ary, i, ity):
    """Pointer to row ``i`` of a 2-d C-contiguous array."""
    cary = context.make_array(aryty)(context, builder, ary)
    i_v = context.cast(builder, i, ity, types.int64)
    return builder.gep(cary.data, [builder.mul(i_v, builder.extract_value(cary.shape, 1))])


def _block_loop(builder, nblk, body, vw=8):
    """Emit ``for j in range(nblk)`` (nblk >= 1) carrying one <vw x i64> accumulator;
    ``body(j, acc) -> acc`` may add blocks. Returns the final accumulator."""
    vt = ir.VectorType(_I64, vw)
    pre = builder.basic_block
    loop = builder.append_basic_block("blk_loop")
    done = builder.append_basic_block("blk_done")
    builder.branch(loop)
    builder.position_at_end(loop)
    j = builder.phi(_I64)
    acc = builder.phi(vt)
    j.add_incoming(ir.Constant(_I64, 0), pre)
    acc.add_incoming(ir.Constant(vt, [0] * vw), pre)
    acc2 = body(j, acc)
    j2 = builder.add(j, ir.Constant(_I64, 1))
    end = builder.basic_block
    j.add_incoming(j2, end)
    acc.add_incoming(acc2, end)
    builder.cbranch(builder.icmp_signed("<", j2, nblk), loop, done)
    builder.position_at_end(done)
    return acc2


def _vfn(builder, name, ret, args):
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, args), name)


@intrinsic
def delta_planes(typingctx, cbits, i, neg, mab):
    """``sum_k popcount(mab[k] & (cbits[i, k] ^ neg))`` over all ``len(mab)`` words, four
    at a time (``len(mab)`` a positive multiple of 4 and <= the row length).

    256-bit vectors, although :func:`flip_planes` writes ``mab`` with 512-bit stores: at
    N = 4095, alpha = 0.5 (32 words) the proposal measured ~5 % faster than with 512-bit
    loads (plausibly the next dE's loads of ``mab`` right after a flip's stores), and the
    same at alpha = 0.8."""
    if not (_is_cbits(cbits) and _is_u64_vec(mab) and neg == types.uint64 and isinstance(i, types.Integer)):
        return None
    sig = types.int64(cbits, i, neg, mab)

    vw = 4

    def codegen(context, builder, signature, args):
        a = signature.args
        row = _row_ptr(context, builder, a[0], args[0], args[1], a[1])
        mary = context.make_array(a[3])(context, builder, args[3])
        nblk = builder.sdiv(builder.extract_value(mary.shape, 0), ir.Constant(_I64, vw))
        V4 = ir.VectorType(_I64, vw)
        negv = _splat_q(builder, args[2], vw)
        ctpop = _vfn(builder, f"llvm.ctpop.v{vw}i64", V4, [V4])

        def body(j, acc):
            off = builder.mul(j, ir.Constant(_I64, vw))
            s = builder.xor(builder.load(_vq_ptr(builder, row, off, vw), align=8), negv)
            m = builder.load(_vq_ptr(builder, mary.data, off, vw), align=8)
            return builder.add(acc, builder.call(ctpop, [builder.and_(m, s)]))

        acc = _block_loop(builder, nblk, body, vw)
        return builder.call(_vfn(builder, f"llvm.vector.reduce.add.v{vw}i64", _I64, [V4]), [acc])

    return sig, codegen


U_B = 130  # bit-sliced offset of level B: U = (h - B) / 2 + U_B, so A sits at U_B + 1
# The window bitset ``near`` (U in [128, 135]: bit 7 set, bits 3-6 and the high byte clear)
# is kept beside the planes; with bits 1-2 it splits into L = {128, 129}, M = {130, 131}
# (the levels B, A) and H = {132, 133}, and with bit 0 these give the level bitset one
# pending flip away (:func:`pend_one`).


def _arrays(context, builder, sig, args, idx):
    return [context.make_array(sig.args[k])(context, builder, args[k]).data for k in idx]


def _near(builder, p, f, ones):
    """The window bitset from the low planes ``p`` and the far bits ``f`` (see ``U_B``)."""
    mid = builder.or_(builder.or_(p[3], p[4]), builder.or_(p[5], p[6]))
    return builder.and_(p[LOW_PLANES - 1], builder.xor(builder.or_(mid, f), ones))


def _window_sets(builder, near, b1, b2, ones):
    """(L, M, H) from the window bitset and planes 1-2 (see ``U_B``)."""
    nb1 = builder.xor(b1, ones)
    lo = builder.and_(near, builder.xor(b2, ones))
    return builder.and_(lo, nb1), builder.and_(lo, b1), builder.and_(builder.and_(near, b2), nb1)


def _apply_codegen(vw, pair):
    vt = ir.VectorType(_I64, vw)
    sfx = f"v{vw}i64"

    def codegen(context, builder, signature, args):
        a = signature.args
        pl_d = _arrays(context, builder, signature, args, [0])[0]
        row = _row_ptr(context, builder, a[1], args[1], args[2], a[2])
        negv = _splat_q(builder, args[3], vw)
        if pair:
            row_j = _row_ptr(context, builder, a[1], args[1], args[4], a[4])
            negj = _splat_q(builder, args[5], vw)
            k = 6
        else:
            k = 4
        va_d, mab_d, f_d, n_d = _arrays(context, builder, signature, args, range(k, k + 4))
        stride = builder.extract_value(context.make_array(a[-1])(context, builder, args[-1]).shape, 0)
        # 8-word blocks over the whole stride, or one block of the first vw words
        nblk = builder.ashr(stride, ir.Constant(_I64, 3)) if vw == 8 else ir.Constant(_I64, 1)
        ones = ir.Constant(vt, [-1] * vw)
        zeros = ir.Constant(vt, [0] * vw)
        ctpop = _vfn(builder, f"llvm.ctpop.{sfx}", vt, [vt])
        red_or = _vfn(builder, f"llvm.vector.reduce.or.{sfx}", _I64, [vt])

        def ptr(base, off):
            return _vq_ptr(builder, base, off, vw)

        def plane_ptr(off, b):
            return ptr(pl_d, builder.add(off, builder.mul(stride, ir.Constant(_I64, b))))

        def body(j, acc):
            off = builder.mul(j, ir.Constant(_I64, vw))
            s = builder.xor(builder.load(ptr(row, off), align=8), negv)
            c = builder.load(ptr(va_d, off), align=8)
            if pair:  # both flips move a lane the same way (by 2) or cancel: start at plane 1
                sj = builder.xor(builder.load(ptr(row_j, off), align=8), negj)
                c = builder.and_(c, builder.xor(builder.xor(s, sj), ones))
            p = [None] * LOW_PLANES
            for b in range(LOW_PLANES):
                pp = plane_ptr(off, b)
                z = builder.load(pp, align=8)
                if pair and b == 0:
                    p[0] = z
                    continue
                zn = builder.xor(z, c)
                builder.store(zn, pp, align=8)
                c = builder.and_(c, builder.xor(z, s))
                p[b] = zn
            f_old = builder.load(ptr(f_d, off), align=8)
            body_end = builder.basic_block
            high = builder.append_basic_block("planes_high")
            join = builder.append_basic_block("planes_join")
            builder.cbranch(builder.icmp_unsigned("!=", builder.call(red_or, [c]), ir.Constant(_I64, 0)), high, join)
            builder.position_at_end(high)  # a low byte wrapped: carry on into the high planes
            f_new = zeros
            for b in range(LOW_PLANES, PLANES):
                pp = plane_ptr(off, b)
                z = builder.load(pp, align=8)
                zn = builder.xor(z, c)
                builder.store(zn, pp, align=8)
                c = builder.and_(c, builder.xor(z, s))
                f_new = builder.or_(f_new, zn)
            builder.store(f_new, ptr(f_d, off), align=8)
            builder.branch(join)
            builder.position_at_end(join)
            f = builder.phi(vt)
            f.add_incoming(f_old, body_end)
            f.add_incoming(f_new, high)
            near = _near(builder, p, f, ones)
            builder.store(near, ptr(n_d, off), align=8)
            mset = builder.and_(builder.and_(near, builder.xor(p[2], ones)), p[1])
            builder.store(mset, ptr(mab_d, off), align=8)
            return builder.add(acc, builder.call(ctpop, [builder.and_(mset, builder.xor(p[0], ones))]))

        acc = _block_loop(builder, nblk, body, vw)
        return builder.call(_vfn(builder, f"llvm.vector.reduce.add.{sfx}", _I64, [vt]), [acc])

    return codegen


def _pend_codegen(vw, pair):
    assert not pair  # one pending flip at most (a pipelined pair variant measured slower)
    vt = ir.VectorType(_I64, vw)
    sfx = f"v{vw}i64"

    def codegen(context, builder, signature, args):
        a = signature.args
        pl_d = _arrays(context, builder, signature, args, [0])[0]
        row = _row_ptr(context, builder, a[1], args[1], args[2], a[2])
        negv = _splat_q(builder, args[3], vw)
        mab_d, n_d = _arrays(context, builder, signature, args, range(4, 6))
        stride = builder.extract_value(context.make_array(a[4])(context, builder, args[4]).shape, 0)
        nblk = builder.ashr(stride, ir.Constant(_I64, 3)) if vw == 8 else ir.Constant(_I64, 1)
        ones = ir.Constant(vt, [-1] * vw)
        ctpop = _vfn(builder, f"llvm.ctpop.{sfx}", vt, [vt])

        def sel(mask, x, y):
            return builder.or_(builder.and_(mask, x), builder.and_(builder.xor(mask, ones), y))

        def body(j, acc):
            off = builder.mul(j, ir.Constant(_I64, vw))

            def ld(base):
                return builder.load(_vq_ptr(builder, base, off, vw), align=8)

            s = builder.xor(ld(row), negv)
            b0 = ld(pl_d)
            b1 = builder.load(_vq_ptr(builder, pl_d, builder.add(off, stride), vw), align=8)
            b2 = builder.load(_vq_ptr(builder, pl_d, builder.add(off, builder.add(stride, stride)), vw), align=8)
            lset, mset, hset = _window_sets(builder, ld(n_d), b1, b2, ones)
            # U moves by -1 (s set: 131 and 132 reach the levels) or +1 (129 and 130)
            m = sel(s, sel(b0, mset, hset), sel(b0, lset, mset))
            at_b = builder.and_(m, b0)  # B = 130 from 131 or 129
            builder.store(m, _vq_ptr(builder, mab_d, off, vw), align=8)
            return builder.add(acc, builder.call(ctpop, [at_b]))

        acc = _block_loop(builder, nblk, body, vw)
        return builder.call(_vfn(builder, f"llvm.vector.reduce.add.{sfx}", _I64, [vt]), [acc])

    return codegen


def _planes_typer(vw, pair, codegen, n_arrays):
    def typer(typingctx, pl, cbits, i, neg, *rest):
        scalars = (i, neg) + (tuple(rest[:2]) if pair else ())
        arrays = (pl,) + tuple(rest[2:] if pair else rest)
        if len(arrays) != n_arrays or not (all(_is_u64_vec(t) for t in arrays) and _is_cbits(cbits)):
            return None
        if any(not isinstance(t, types.Integer) for t in scalars[::2]) or any(t != types.uint64 for t in scalars[1::2]):
            return None
        return types.int64(pl, cbits, i, neg, *rest), codegen(vw, pair)

    return typer


def _make_intrinsics(name, doc, codegen, pair, arrays):
    """The three width variants (8-word blocks, words 0-1, words 0-3) of one intrinsic
    with explicit parameters ``pl, cbits, i, neg[, j, negj], *arrays`` (Numba's intrinsics
    take no star-arguments)."""
    params = ["pl", "cbits", "i", "neg"] + (["j", "negj"] if pair else []) + list(arrays)
    out = []
    for vw in (8, 2, 4):
        ns = {"_t": _planes_typer(vw, pair, codegen, 1 + len(arrays))}
        exec(f"def fn(typingctx, {', '.join(params)}):\n    return _t(typingctx, {', '.join(params)})", ns)
        fn = ns["fn"]
        fn.__name__ = fn.__qualname__ = name if vw == 8 else f"{name}{vw}"
        fn.__module__ = __name__
        fn.__doc__ = doc if vw == 8 else f":func:`{name}` on words 0-{vw - 1} only (W <= {vw})."
        out.append(intrinsic(fn))
    return out


flip_planes, flip_planes2, flip_planes4 = _make_intrinsics("flip_planes", """\
flip_planes(pl, cbits, i, neg, valid, mab, fb, near) -> count at B

Apply one accepted flip to bit-sliced offsets and rebuild the level and window bitsets.
All arrays uint64, C-contiguous; ``Wp = len(mab)`` a positive multiple of 8.

pl : (PLANES * Wp,)
    Plane b of word k at ``pl[b * Wp + k]``: bit j = bit b of the 16-bit two's complement
    lane ``U`` of pattern 64 k + j. Updated in place: ``U -= 1`` on the lanes set in
    ``cbits[i, k] ^ neg``, ``U += 1`` on the other lanes set in ``valid[k]``.
cbits : (N, >= Wp), row ``i`` read.
valid : (Wp,)
    Lanes that move (real patterns); the others keep their planes.
mab : (Wp,)
    Out: lanes at the levels, ``U in {U_B, U_B + 1} = {130, 131}``.
fb : (Wp,)
    Lanes whose high byte is not 0; rewritten in the blocks where a low byte wrapped.
near : (Wp,)
    Out: the window bitset, U in [128, 135] (see ``U_B``).

Returns the number of lanes with ``U == U_B``. Ripple carry: ``U + 1 - 2 s`` is
``bit_b ^= c_b`` with ``c_0 = valid``, ``c_{b+1} = c_b & (bit_b ^ s)`` (a borrow where s
is set); the high planes are visited only when some ``c_8`` of the block is set.
``flip_planes2`` and ``flip_planes4`` do the same on the first 2 or 4 words only (for
W <= 2 or 4: narrower vectors, shorter latency; the other words must be padding).""",
                                                           _apply_codegen, False, ("valid", "mab", "fb", "near"))

pair_planes, pair_planes2, pair_planes4 = _make_intrinsics("pair_planes", """\
pair_planes(pl, cbits, i, neg, j, negj, valid, mab, fb, near) -> count at B

Apply two accepted flips (rows ``i`` and ``j``, each with its sign word) at once:
:func:`flip_planes` for ``U += (1 - 2 s_i) + (1 - 2 s_j)``. The sum is -2, 0 or +2, so
plane 0 keeps its bits and the ripple starts at plane 1 with ``c_1 = valid & ~(s_i ^ s_j)``
(the lanes both flips move the same way). Same outputs as :func:`flip_planes`.""",
                                                           _apply_codegen, True, ("valid", "mab", "fb", "near"))

pend_one, pend_one2, pend_one4 = _make_intrinsics("pend_one", """\
pend_one(pl, cbits, i, neg, mab, near) -> count at B

The level bitset and the count at B *as if* flip ``i`` had been applied, from the window
bitset and planes 0-2 of the unflipped offsets, without touching them: the flip stays
pending (the proposals that follow use this ``mab``) until the next accepted flip, and then
both go in at once. Five loads and one store per word.""", _pend_codegen, False, ("mab", "near"))


@intrinsic
def planes_encode(typingctx, h, base, B, nvalid, pl, off, stride):
    """Write the 16 bit planes of one word: lane j < ``nvalid`` gets
    ``U = (h[base + j] - B) / 2 + U_B`` (an exact integer: ``h - B`` is even), the others 0.
    Plane b goes to ``pl[off + b * stride]`` (see :func:`flip_planes`)."""
    if not (isinstance(h, types.Array) and h.dtype == types.int16 and h.ndim == 1 and h.layout == "C"):
        return None
    if not _is_u64_vec(pl) or not all(isinstance(t, types.Integer) for t in (base, B, nvalid, off, stride)):
        return None
    sig = types.void(h, base, B, nvalid, pl, off, stride)

    def codegen(context, builder, signature, args):
        a = signature.args
        h_d = context.make_array(a[0])(context, builder, args[0]).data
        pl_d = context.make_array(a[4])(context, builder, args[4]).data
        base_v, b_v, nv_v, off_v, st_v = (context.cast(builder, args[k], a[k], types.int64) for k in (1, 2, 3, 5, 6))
        vptr = builder.bitcast(builder.gep(h_d, [base_v]), _V16.as_pointer())
        v32 = ir.VectorType(ir.IntType(32), 64)
        hv = builder.sext(builder.load(vptr, align=2), v32)  # h - B may leave the int16 range
        bv = builder.shuffle_vector(
            builder.insert_element(ir.Constant(v32, ir.Undefined), builder.trunc(b_v, _I32), ir.Constant(_I32, 0)),
            ir.Constant(v32, ir.Undefined), ir.Constant(ir.VectorType(_I32, 64), [0] * 64))
        u = builder.add(builder.ashr(builder.sub(hv, bv), ir.Constant(v32, [1] * 64)), ir.Constant(v32, [U_B] * 64))
        u = builder.trunc(u, _V16)
        lane = ir.Constant(_V16, list(range(64)))
        u = builder.select(builder.icmp_signed("<", lane, _splat16(builder, nv_v)), u, ir.Constant(_V16, [0] * 64))
        for b in range(PLANES):
            masked = builder.and_(u, ir.Constant(_V16, [_bitval16(b)] * 64))
            bit = builder.icmp_unsigned("!=", masked, ir.Constant(_V16, [0] * 64))
            ptr = builder.gep(pl_d, [builder.add(off_v, builder.mul(st_v, ir.Constant(_I64, b)))])
            builder.store(builder.bitcast(bit, _I64), ptr)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def planes_decode(typingctx, pl, off, stride, h, base, B, nvalid):
    """Inverse of :func:`planes_encode` on lanes j < ``nvalid``:
    ``h[base + j] = B + 2 (U - U_B)``; the other lanes of ``h`` are left as they are."""
    if not (isinstance(h, types.Array) and h.dtype == types.int16 and h.ndim == 1 and h.layout == "C"):
        return None
    if not _is_u64_vec(pl) or not all(isinstance(t, types.Integer) for t in (base, B, nvalid, off, stride)):
        return None
    sig = types.void(pl, off, stride, h, base, B, nvalid)

    def codegen(context, builder, signature, args):
        a = signature.args
        pl_d = context.make_array(a[0])(context, builder, args[0]).data
        h_d = context.make_array(a[3])(context, builder, args[3]).data
        off_v, st_v, base_v, b_v, nv_v = (context.cast(builder, args[k], a[k], types.int64) for k in (1, 2, 4, 5, 6))
        zero = ir.Constant(_V16, [0] * 64)
        u = zero
        for b in range(PLANES):
            word = builder.load(builder.gep(pl_d, [builder.add(off_v, builder.mul(st_v, ir.Constant(_I64, b)))]))
            weight = ir.Constant(_V16, [_bitval16(b)] * 64)
            u = builder.add(u, builder.select(builder.bitcast(word, _M64), weight, zero))
        two = ir.Constant(_V16, [2] * 64)
        hn = builder.add(_splat16(builder, b_v), builder.mul(builder.sub(u, ir.Constant(_V16, [U_B] * 64)), two))
        vptr = builder.bitcast(builder.gep(h_d, [base_v]), _V16.as_pointer())
        old = builder.load(vptr, align=2)
        lane = ir.Constant(_V16, list(range(64)))
        builder.store(builder.select(builder.icmp_signed("<", lane, _splat16(builder, nv_v)), hn, old), vptr, align=2)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch_row(typingctx, arr, i, k):
    """Hint the CPU to fetch the cache line holding ``arr[i, k]`` (2-d C-contiguous array)
    into L1 (LLVM ``prefetch``, read, high locality). No effect on results; no bounds check
    needed (a prefetch never faults)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C"):
        return None
    if not (isinstance(i, types.Integer) and isinstance(k, types.Integer)):
        return None
    sig = types.void(arr, i, k)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        i_v = context.cast(builder, args[1], signature.args[1], types.intp)
        k_v = context.cast(builder, args[2], signature.args[2], types.intp)
        ncols = builder.extract_value(ary.shape, 1)
        idx = builder.add(builder.mul(i_v, ncols), k_v)
        ptr = builder.bitcast(builder.gep(ary.data, [idx]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def cttz64(typingctx, x):
    """Number of trailing zero bits of a nonzero uint64 (LLVM ``cttz``)."""
    if x != types.uint64:
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.cttz", [ir.IntType(64), ir.IntType(1)])
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])

    return sig, codegen
