"""The one shared ``njit`` and a few LLVM intrinsics used by every kernel.

Caching of compiled kernels is on by default (so a warm first call costs milliseconds);
set ``SPINGLASS_NETS_NUMBA_CACHE=0`` to turn it off (read-only installs, debugging).
``fastmath`` stays off everywhere: floating-point results must be bit-reproducible.
"""

from __future__ import annotations

import os

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE = os.environ.get("SPINGLASS_NETS_NUMBA_CACHE", "1") != "0"


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


def _flip_word16_ab(typingctx, h, base, s, valid, A, B):
    """:func:`flip_word16` returning only ``(h == A, h == B)`` (errors energy)."""
    return _flip_word16_typer(2)(typingctx, h, base, s, valid, A, B)


_flip_word16.__name__ = "flip_word16"
_flip_word16_ab.__name__ = "flip_word16_ab"
flip_word16 = intrinsic(_flip_word16)
flip_word16_ab = intrinsic(_flip_word16_ab)


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
