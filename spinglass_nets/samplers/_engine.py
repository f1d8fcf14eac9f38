"""The compiled-kernel workspace: an instance's layouts and the padded per-chain arrays.

Internal. :class:`Layout` holds what depends on the instance only (bit matrix, transposed
columns, integer levels) and is cached per instance (instances are immutable, so the cache
can never go stale). :class:`Engine` holds the padded per-chain arrays a kernel updates in
place; :mod:`spinglass_nets.samplers.base` turns it into public ``State`` tuples.

At every block boundary (each call of :meth:`Engine.sweep`) the float kernel's fields and
energy are recomputed from ``w`` by :func:`float_fields`, so the state at a boundary is a
function of (w, generator states) alone: that is what makes checkpoints and resume exact.
"""

from __future__ import annotations

import math
import weakref

import numba
import numpy as np

from .._numba import njit
from ..models._kernels import float_fields
from . import _float_kernels as KF
from . import _kernels as K

MAX_N_BITS = 32000
# Below this many proposals in a block, a parallel kernel call costs more in thread wake-ups
# than it saves (a one-sweep tempering block, one replica of replicated annealing); the
# serial twin runs the same per-chain code, so results are identical either way.
PARALLEL_MIN_PROPOSALS = 50_000  # int16 fields: |h| <= N must stay clear of the padding sentinel

_LAYOUTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _pad(n, m):
    return -(-n // m) * m


def _zeros64(shape, dtype):
    """Zeroed C-contiguous array whose data starts on a 64-byte boundary (a cache line, and
    the width of one zmm load: the kernels' <64 x i16> rows never straddle two lines)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = np.zeros(nbytes + 64, dtype=np.uint8)
    off = (-buf.ctypes.data) % 64
    return buf[off:off + nbytes].view(dtype).reshape(shape)


def _copy64(a):
    out = _zeros64(a.shape, a.dtype)
    out[...] = a
    return out


@njit
def float_energy(f, P, lo, hi, lo_r, hi_r, scale, linear, out):
    """Energy of each chain from its fields (same per-pattern rule as the kernel)."""
    for c in range(f.shape[0]):
        e = 0.0
        for mu in range(P):
            e += KF._pattern_energy(f[c, mu], lo, hi, lo_r, hi_r, scale, linear)
        out[c, 0] = e


@njit
def bits_init(cbits, w, h, la, lb, vb, ints, A, B, W, P):
    """Integer fields, level bitsets and (violated count, violated field sum) from ``w``.

    ``h[c, mu] = sum_i w[c, i] c_mu,i`` with ``c_mu,i = +1`` where bit mu of ``cbits[i]``
    is set and -1 otherwise (exact integers; padding patterns at ``SENTINEL``).
    """
    C = w.shape[0]
    N = cbits.shape[0]
    acc = np.zeros(64 * W, dtype=np.int64)
    for c in range(C):
        acc[:] = 0
        for i in range(N):
            wi = np.int64(w[c, i])
            row = cbits[i]
            for k in range(W):
                word = row[k]
                for j in range(64):
                    acc[64 * k + j] += wi * (2 * np.int64((word >> np.uint64(j)) & np.uint64(1)) - 1)
        for mu in range(h.shape[1]):
            h[c, mu] = acc[mu] if mu < P else K.SENTINEL
        nv = np.int64(0)
        sv = np.int64(0)
        for mu in range(P):
            if h[c, mu] <= B:
                nv += 1
                sv += h[c, mu]
        ints[c, K.I_NVIOL] = nv
        ints[c, K.I_SUMV] = sv
        K.rebuild_bits(h[c], A, B, la[c], lb[c], vb[c], W)


class Layout:
    """Instance-only arrays for the kernels (built once per instance and cached)."""

    def __init__(self, instance):
        n, p = instance.n, instance.p
        self.n, self.p = n, p
        self.sqrt_n = math.sqrt(n)
        self.bits = instance.patterns == "binary" and instance.kind == "perceptron"
        c = instance.c()
        if self.bits:
            if n > MAX_N_BITS:
                raise ValueError(f"n={n} is too large for the bit-packed kernel; the limit is {MAX_N_BITS}")
            self.W = max(1, _pad(p, 64) // 64)
            self.ppad = 64 * self.W
            # No int8 copy of c: the kernels derive the +-2 field steps from these bits.
            positive = np.zeros((n, self.ppad), dtype=np.uint8)
            positive[:, :p] = c.T > 0
            # bit j of word k <-> pattern 64 k + j (little-endian packing). Rows are padded
            # with zero words to a multiple of 8 (one 64-byte line, one zmm register) and the
            # matrix is 64-byte aligned: the errors kernel reads whole 8-word blocks.
            packed = np.packbits(positive, axis=1, bitorder="little").view(np.uint64).reshape(n, self.W)
            self.cbits = _zeros64((n, _pad(self.W, 8)), np.uint64)
            self.cbits[:, : self.W] = packed
            # Lowest satisfied level with the parity of N, clamped to [-N, N + 2]: beyond that
            # range the clamped level behaves identically (no field reaches it).
            a = instance.h_min
            if (a - n) % 2:
                a += 1
            self.A = int(min(max(a, -n), n + 2))
            self.B = self.A - 2
        else:
            self.ppad = _pad(max(p, 1), 8)
            if instance.patterns == "binary":
                self.cT = np.ascontiguousarray(c.T.astype(np.float64))
                scale = 1.0 / self.sqrt_n
                k_r = instance.kappa * self.sqrt_n
                self.lo, self.hi = float(instance.h_min), float(instance.h_max)
            else:
                self.cT = np.ascontiguousarray(c.T / self.sqrt_n)
                scale = 1.0
                k_r = instance.kappa
                if instance.kind == "symmetric":
                    self.lo, self.hi = -instance.kappa, instance.kappa
                else:
                    self.lo, self.hi = instance.kappa, math.inf
            if instance.kind == "symmetric":
                self.lo_r, self.hi_r = -k_r, k_r
            else:
                self.lo_r, self.hi_r = k_r, math.inf
                self.hi = math.inf
            self.scale = scale
        self.kappa = instance.kappa


def layout(instance) -> Layout:
    lay = _LAYOUTS.get(instance)
    if lay is None:
        lay = Layout(instance)
        _LAYOUTS[instance] = lay
    return lay


class Engine:
    """Padded per-chain arrays for ``n_total`` kernel chains of one instance.

    Parameters
    ----------
    instance : PerceptronInstance
    w : (C, N) int8
    rng_state : (C, 4) uint64
    energy : {"errors", "linear"}
    """

    def __init__(self, instance, w, rng_state, energy):
        lay = layout(instance)
        self.lay = lay
        self.linear = 1 if energy == "linear" else 0
        C, n = w.shape
        self.C = C
        npad = _pad(n, 64)
        self._w = _zeros64((C, npad), np.int8)
        self._w[:, :n] = w
        self.rng = _zeros64((C, 8), np.uint64)
        self.rng[:, :4] = rng_state
        self.ints = _zeros64((C, 8), np.int64)
        self.field = _zeros64((C, npad), np.float64)
        self.use_field = 0
        self._all = np.ones(C, dtype=np.int8)
        if lay.bits:
            wpad = _pad(lay.W, 8)
            self.h = _zeros64((C, lay.ppad), np.int16)
            self.la = _zeros64((C, wpad), np.uint64)
            self.lb = _zeros64((C, wpad), np.uint64)
            self.vb = _zeros64((C, wpad), np.uint64)
            bits_init(lay.cbits, self._w[:, :n], self.h, self.la, self.lb, self.vb, self.ints, lay.A, lay.B, lay.W, lay.p)
        else:
            self.f = _zeros64((C, lay.ppad), np.float64)
            self.e = _zeros64((C, 8), np.float64)
            self._refresh_float()

    def _refresh_float(self):
        lay = self.lay
        float_fields(lay.cT, self._w[:, : lay.n], self.f)
        float_energy(self.f, lay.p, lay.lo, lay.hi, lay.lo_r, lay.hi_r, lay.scale, self.linear, self.e)

    def set_field(self, field):
        """External field (C, N) float64 in log-weight units, or None for none."""
        if field is None:
            self.use_field = 0
            return
        self.field[:, : self.lay.n] = field
        self.use_field = 1

    def sweep(self, betas, active=None):
        """Run ``betas.shape[1]`` sweeps; ``betas`` is (C, S) float64. ``active`` (C,) bool
        restricts the sweep to some chains (the others do not move or draw)."""
        lay = self.lay
        betas = np.ascontiguousarray(betas, dtype=np.float64)
        act = self._all if active is None else np.ascontiguousarray(active, dtype=np.int8)
        n_active = self.C if active is None else int(np.count_nonzero(act))
        par = n_active > 1 and n_active * betas.shape[1] * lay.n >= PARALLEL_MIN_PROPOSALS and numba.get_num_threads() > 1
        if lay.bits:
            (K.metropolis_bits if par else K.metropolis_bits_serial)(
                lay.cbits, self._w, self.h, self.la, self.lb, self.vb, self.ints, self.rng,
                betas, lay.A, lay.B, lay.W, lay.p, self.linear, lay.kappa, 1.0 / lay.sqrt_n,
                self.field, self.use_field, act,
            )
        else:
            (KF.metropolis_float if par else KF.metropolis_float_serial)(
                lay.cT, self._w, self.f, self.e, self.ints, self.rng, betas,
                lay.lo, lay.hi, lay.lo_r, lay.hi_r, lay.scale, self.linear, self.field, self.use_field, act,
            )
            self._refresh_float()

    # ------------------------------------------------------------------ views and copies
    @property
    def w(self):
        return self._w[:, : self.lay.n]

    def fields(self):
        """Fields (C, P): integer ``h`` (int16) for the bits kernel, float64 otherwise."""
        return (self.h if self.lay.bits else self.f)[:, : self.lay.p]

    def energies(self):
        """(C,) float64: errors as integers in float, or the linear energy."""
        if self.lay.bits:
            nv = self.ints[:, K.I_NVIOL].astype(np.float64)
            if not self.linear:
                return nv
            return self.lay.kappa * nv - self.ints[:, K.I_SUMV] / self.lay.sqrt_n
        return self.e[:, 0].copy()

    def take_counters(self):
        """(accepted, proposed) since the last call, per chain; resets them."""
        acc = self.ints[:, K.I_ACC].copy()
        prop = self.ints[:, K.I_PROP].copy()
        self.ints[:, K.I_ACC] = 0
        self.ints[:, K.I_PROP] = 0
        return acc, prop

    def rng_state(self):
        return self.rng[:, :4].copy()
