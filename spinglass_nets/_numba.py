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
