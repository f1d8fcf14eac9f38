"""Exact enumeration of small instances: the ground truth of every test.

Every one of the ``2**N`` weight configurations is visited in Gray-code order with
incremental fields (one weight flips per step: P field updates), in Numba kernels
(:mod:`spinglass_nets.exact._kernels`).

- Binary (+-1) patterns: exact int16 fields compared with the instance's integer thresholds
  ``h_min`` / ``h_max``, so every classification agrees exactly with
  :meth:`PerceptronInstance.is_solution` (constraints are inclusive: a field at the threshold
  satisfies it). The ``w -> -w`` symmetry halves the walk (fields of ``-w`` are ``-h``).
- Gaussian patterns: float64 fields, recomputed from scratch every ``2**12`` steps. Any
  configuration with a field within ``1e-8 * (1 + max_mu sum_i |xi_mu,i|)`` of a threshold is
  re-checked with the instance's own :meth:`~PerceptronInstance.violated`, so
  classifications agree with ``instance.is_solution`` too.

Configuration order
-------------------
Configuration ``k`` in ``[0, 2**N)`` has ``w_i = -1`` iff bit ``N-1-i`` of ``k`` is set
(:func:`index_to_config`); ascending ``k`` is the lexicographic order of
``(w_0, ..., w_{N-1})`` with ``+1`` before ``-1``. :func:`enumerate_solutions` returns
solutions in this order.

Limits
------
``N <= MAX_N = 34`` (``2**34`` configurations: minutes on two cores). Gaussian patterns:
``N <= MAX_N_GAUSSIAN = 30``; the Gaussian ``"linear"`` density of states keeps one energy
per configuration, ``N <= MAX_N_GAUSSIAN_LINEAR = 24``. Larger N raise ValueError.

Examples
--------
>>> import spinglass_nets as sn
>>> from spinglass_nets import exact
>>> inst = sn.make_perceptron(21, 0.5, rng=1)
>>> dos = exact.density_of_states(inst)          # doctest: +SKIP
>>> dos.counts.sum() == 2**21, dos.counts[0] == exact.count_solutions(inst)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..models import PerceptronInstance
from . import _kernels

__all__ = [
    "MAX_N",
    "MAX_N_GAUSSIAN",
    "MAX_N_GAUSSIAN_LINEAR",
    "DensityOfStates",
    "count_solutions",
    "enumerate_solutions",
    "density_of_states",
    "distance_profile",
    "boltzmann_distribution",
    "index_to_config",
    "config_to_index",
]

MAX_N = 34
MAX_N_GAUSSIAN = 30
MAX_N_GAUSSIAN_LINEAR = 24
# enumerate_solutions refuses outputs larger than this (bytes) unless a limit caps them.
MAX_OUTPUT_BYTES = 2**31
# Binary blocks: 2**20 Gray steps each; Gaussian blocks: 2**12 (bounds float drift).
_LOW_BITS_BINARY = 20
_LOW_BITS_GAUSS = 12
_MAX_CHUNKS = 64
# Relative half-width of the band around a Gaussian threshold whose configurations are
# re-checked by the instance: incremental drift over 2**12 steps and the instance's BLAS
# round-off are both below 1e-12 relative; 1e-8 leaves a wide margin at negligible cost.
_EPS_GAUSS = 1e-8
# Gaussian linear energies closer than this (relative) are one level: equal energies
# computed along different float paths may differ in the last bits.
_MERGE_RTOL = 1e-9
# Ambiguous Gaussian indices kept per chunk on the first try (more: one retry).
_AMB_CAP = 1024


# Below 2**_SERIAL_BITS configurations kernels run on the calling thread alone: waking a
# thread pool (OpenMP under load) cost ~0.1 s per call here, far more than the work.
_SERIAL_BITS = 20


# ------------------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _threads_for(n):
    """Run small enumerations single-threaded (the setting is per calling thread)."""
    if n >= _SERIAL_BITS:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _small_serial(func):
    """Decorator: public entry points run small instances single-threaded."""

    @functools.wraps(func)
    def wrapper(instance, *args, **kwargs):
        with _threads_for(getattr(instance, "n", _SERIAL_BITS)):
            return func(instance, *args, **kwargs)

    return wrapper


def _check_instance(instance):
    if not isinstance(instance, PerceptronInstance):
        raise ValueError(f"instance must be a PerceptronInstance, got {type(instance).__name__}")
    n = instance.n
    limit = MAX_N if instance.patterns == "binary" else MAX_N_GAUSSIAN
    if n > limit:
        raise ValueError(
            f"N={n} is too large for exact enumeration of {instance.patterns} patterns "
            f"(2**{n} configurations); the limit is N <= {limit}"
        )
    return n


def index_to_config(k, n: int) -> np.ndarray:
    """Configurations from indices.

    Parameters
    ----------
    k : int or array_like of int, shape (M,)
        Indices in ``[0, 2**n)``.
    n : int
        Number of weights.

    Returns
    -------
    ndarray, shape (n,) or (M, n), int8
        ``w_i = -1`` iff bit ``n-1-i`` of ``k`` is set.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 62:
        raise ValueError(f"n={n!r} must be an integer in [1, 62]")
    k = np.asarray(k)
    if k.dtype == bool or not np.issubdtype(k.dtype, np.integer):
        raise ValueError(f"k must be integers in [0, 2**n), got dtype {k.dtype}")
    k = k.astype(np.int64)
    if k.size and (k.min() < 0 or k.max() >= 1 << n):
        raise ValueError(f"k must be in [0, 2**{n}) = [0, {1 << n}), got values in [{k.min()}, {k.max()}]")
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    bits = (k[..., None] >> shifts) & 1
    return (1 - 2 * bits).astype(np.int8)


def config_to_index(w) -> np.ndarray | int:
    """Inverse of :func:`index_to_config`: ``w`` (..., N) +-1, N <= 62 -> int64 indices (...)."""
    w = np.asarray(w)
    if w.ndim == 0 or not 1 <= w.shape[-1] <= 62:
        raise ValueError(f"w must have shape (..., N) with 1 <= N <= 62, got shape {w.shape}")
    if not np.all((w == 1) | (w == -1)):
        raise ValueError("w must contain only +-1 entries")
    n = w.shape[-1]
    bits = (w < 0).astype(np.int64)
    k = (bits << np.arange(n - 1, -1, -1, dtype=np.int64)).sum(axis=-1)
    return int(k) if np.ndim(k) == 0 else k


def _layout(n_free: int, low_bits: int):
    """Block bits and chunk count for ``n_free`` enumerated bits."""
    top = max(0, n_free - low_bits)
    # At least 2**6 blocks (when there are enough bits) so prange has work to share.
    top = min(n_free, max(top, 6))
    n_blocks = 1 << top
    return top, min(n_blocks, _MAX_CHUNKS)


def _binary_tables(instance):
    """Flip table ``cc`` (2N, Pp) int16 and thresholds ``[lo, hi, P]`` int16."""
    n, p = instance.n, instance.p
    c = (instance.y.astype(np.int16)[:, None] * instance.xi.astype(np.int16)).T  # (N, P)
    pp = max(16, -(-p // 16) * 16)
    cc = np.zeros((2 * n, pp), np.int16)
    cc[0::2, :p] = -2 * c
    cc[1::2, :p] = 2 * c
    lo, hi = instance.h_min, instance.h_max
    # Clip thresholds into int16 without changing any comparison: |h| <= N.
    lo = int(np.clip(lo, -n - 1, n + 1))
    hi = int(np.clip(hi, -n - 1, n + 1))
    thr = np.array([lo, hi, p], np.int16)
    return np.ascontiguousarray(cc), thr


def _gauss_tables(instance):
    """``c`` (N, P) float64 and ``[lo, hi, eps, 1/sqrt(N)]`` in field units."""
    n = instance.n
    c = np.ascontiguousarray((instance.y[:, None] * instance.xi).T, dtype=np.float64)
    s = math.sqrt(n)
    t = instance.kappa * s
    if instance.kind == "symmetric":
        lo, hi = -t, t
    else:
        lo, hi = t, math.inf
    scale = 1.0 + (float(np.abs(c).sum(axis=0).max()) if c.size else 0.0)
    thr = np.array([lo, hi, _EPS_GAUSS * scale, 1.0 / s], np.float64)
    return c, thr


_EMPTY_I64 = np.zeros(1, np.int64)
_EMPTY_F64 = np.zeros(0, np.float64)


def _run_gauss(instance, mode, ref_bits=0, offsets=None, hist_len=1, cap=0, energies=None):
    """Run :func:`_kernels.scan_gauss`; returns its outputs plus the ambiguous indices."""
    n = instance.n
    c, thr = _gauss_tables(instance)
    top, n_chunks = _layout(n, _LOW_BITS_GAUSS)
    if offsets is None:
        offsets = np.zeros((1 << top) + 1, np.int64)
    if energies is None:
        energies = _EMPTY_F64
    amb_cap = _AMB_CAP
    while True:
        hist, bc, found, amb, n_amb = _kernels.scan_gauss(
            c, thr, top, n_chunks, mode, ref_bits, offsets, hist_len, cap, amb_cap, energies
        )
        if n_amb.max(initial=0) <= amb_cap:
            break
        amb_cap = int(n_amb.max())  # rare: many near-threshold configurations
    amb_idx = np.concatenate([amb[i, : n_amb[i]] for i in range(n_chunks)])
    return hist, bc, found, np.sort(amb_idx), top


def _recheck(instance, idx):
    """Instance's own verdict on configurations ``idx``: (violated counts, linear energies)."""
    if idx.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    w = index_to_config(idx, instance.n)
    return instance.energy(w, "errors"), instance.energy(w, "linear")


def _solution_block_counts(instance):
    """Solutions per block (first = 0 layout) and, for Gaussian, verified extra indices."""
    n = instance.n
    if instance.patterns == "binary":
        cc, thr = _binary_tables(instance)
        top, n_chunks = _layout(n, _LOW_BITS_BINARY)
        _, bc, _ = _kernels.scan_binary(
            cc, thr, 0, top, n_chunks, 3, 0, np.zeros((1 << top) + 1, np.int64), 1, 0
        )
        return bc, np.zeros(0, np.int64), top
    _, bc, _, amb, top = _run_gauss(instance, 3)
    errs, _ = _recheck(instance, amb)
    return bc, amb[errs == 0], top


# ----------------------------------------------------------------------------- counting
@_small_serial
def count_solutions(instance) -> int:
    """Number of solutions of ``instance`` (exact).

    Parameters
    ----------
    instance : PerceptronInstance
        N <= :data:`MAX_N` (binary) or :data:`MAX_N_GAUSSIAN` (Gaussian).

    Returns
    -------
    int
        ``#{w in {-1,+1}^N : instance.is_solution(w)}``.
    """
    _check_instance(instance)
    if instance.patterns == "binary":
        dos = density_of_states(instance, "errors")
        return int(dos.counts[0]) if dos.energies[0] == 0 else 0
    bc, extra, _ = _solution_block_counts(instance)
    return int(bc.sum()) + int(extra.size)


@_small_serial
def enumerate_solutions(instance, limit=None) -> np.ndarray:
    """All solutions (or the first ``limit``) in ascending configuration index.

    Parameters
    ----------
    instance : PerceptronInstance
    limit : int or None
        Keep at most this many solutions (``>= 0``); None keeps all.

    Returns
    -------
    ndarray, shape (M, N), int8
        Distinct solutions, rows in ascending index ``k`` (module docstring: lexicographic
        in ``(w_0, ..., w_{N-1})`` with ``+1`` before ``-1``).

    Raises
    ------
    ValueError
        Bad ``limit``, N too large, or (``limit=None``) an output above 2 GiB.
    """
    n = _check_instance(instance)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ValueError(f"limit={limit!r} must be None or an integer >= 0")
        limit = int(limit)
    bc, extra, top = _solution_block_counts(instance)
    low_bits = n - top
    total = int(bc.sum()) + extra.size
    want = total if limit is None else min(limit, total)
    if want * n > MAX_OUTPUT_BYTES:
        raise ValueError(
            f"enumerate_solutions would return {total} solutions of N={n} "
            f"({total * n} bytes > {MAX_OUTPUT_BYTES}); pass limit= to cap them"
        )
    if want == 0:
        return np.zeros((0, n), np.int8)
    # Whole blocks up to the one that reaches `want` (counting verified extras per block).
    per_block = bc.copy()
    if extra.size:
        np.add.at(per_block, extra >> low_bits, 1)
    last = int(np.searchsorted(np.cumsum(per_block), want))
    offsets = np.zeros(bc.size + 1, np.int64)
    np.cumsum(bc, out=offsets[1:])
    cap = int(offsets[last + 1])
    if instance.patterns == "binary":
        cc, thr = _binary_tables(instance)
        _, _, found = _kernels.scan_binary(cc, thr, 0, top, _layout(n, _LOW_BITS_BINARY)[1], 4, 0, offsets, 1, cap)
    else:
        _, _, found, _, _ = _run_gauss(instance, 4, offsets=offsets, cap=cap)
        found = np.concatenate([found, extra[(extra >> low_bits) <= last]])
    found = np.sort(found)[:want]
    return index_to_config(found, n)


@dataclass(frozen=True)
class DensityOfStates:
    """Exact density of states of one instance.

    Attributes
    ----------
    energies : ndarray, shape (L,)
        Distinct energy levels, ascending: int64 for ``kind="errors"``, float64 for
        ``"linear"``.
    counts : ndarray, shape (L,), int64
        Number of configurations at each level; ``counts.sum() == 2**n``.
    n : int
        Number of weights.
    kind : str
        ``"errors"`` or ``"linear"``.
    """

    energies: np.ndarray
    counts: np.ndarray
    n: int
    kind: str

    @property
    def n_solutions(self) -> int:
        """Number of configurations at energy 0 (the solutions)."""
        zero = self.energies == 0
        return int(self.counts[zero].sum())

    @property
    def entropy_of_solutions(self) -> float:
        """``(1/N) log #solutions`` (natural log; ``-inf`` when there is none)."""
        m = self.n_solutions
        return math.log(m) / self.n if m else -math.inf

    @property
    def ground_state_energy(self):
        """Lowest energy level."""
        return self.energies[0]


def _merge_levels(energies, counts, rtol):
    """Merge adjacent sorted levels closer than ``rtol * max(1, |E|)``, except level 0."""
    if energies.size == 0:
        return energies, counts
    order = np.argsort(energies, kind="stable")
    e, c = energies[order], counts[order]
    new = np.ones(e.size, bool)
    new[1:] = np.diff(e) > rtol * np.maximum(1.0, np.abs(e[1:]))
    # Energy 0 is exactly the solutions: never merge a (tiny but positive) violation into it.
    new[1:] |= e[:-1] == 0.0
    starts = np.flatnonzero(new)
    return e[starts], np.add.reduceat(c, starts).astype(np.int64)


@_small_serial
def density_of_states(instance, kind: str = "errors") -> DensityOfStates:
    """Number of configurations at each energy level (exact).

    Parameters
    ----------
    instance : PerceptronInstance
    kind : {"errors", "linear"}
        ``"errors"``: number of violated constraints. ``"linear"``: sum over violated mu of
        ``kappa - Delta_mu`` (symmetric model: ``|Delta_mu| - kappa``).

    Returns
    -------
    DensityOfStates
        Levels with nonzero counts only.

    Notes
    -----
    Binary ``"linear"``: configurations are keyed exactly on the integers
    ``(n_violated, S)``, ``S`` = sum over violated mu of ``-h_mu`` (perceptron) or
    ``|h_mu|`` (symmetric); the energy of a key is ``n kappa + S/sqrt(N)`` (perceptron) or
    ``S/sqrt(N) - n kappa`` (symmetric), and keys
    whose energies agree to ``1e-9`` relative are one level. Gaussian ``"linear"``: energies
    are float64 from the incremental fields (re-checked configurations from
    ``instance.energy``), levels closer than ``1e-9`` relative are merged; N <= 24.
    """
    n = _check_instance(instance)
    if kind not in ("errors", "linear"):
        raise ValueError(f"kind={kind!r} is not allowed; choose 'errors' or 'linear'")
    p = instance.p
    if instance.patterns == "binary":
        cc, thr = _binary_tables(instance)
        top, n_chunks = _layout(n - 1, _LOW_BITS_BINARY)
        if kind == "errors":
            out = _kernels.dos_errors_binary(cc, thr, 1, top, n_chunks)
            hist = out.sum(axis=0)[: p + 1]
            lv = np.flatnonzero(hist)
            return DensityOfStates(lv.astype(np.int64), hist[lv].astype(np.int64), n, kind)
        span = 2 * p * n + 1
        hist, _, _ = _kernels.scan_binary(
            cc, thr, 1, top, n_chunks, 1, 0, np.zeros((1 << top) + 1, np.int64), (p + 1) * span, 0
        )
        hist = hist.sum(axis=0)
        keys = np.flatnonzero(hist)
        nv, s = keys // span, keys % span - p * n
        sq = math.sqrt(n)
        if instance.kind == "symmetric":
            e = s / sq - nv * instance.kappa
        else:
            e = nv * instance.kappa + s / sq
        e = np.where(nv == 0, 0.0, e)
        energies, counts = _merge_levels(e.astype(np.float64), hist[keys], _MERGE_RTOL)
        return DensityOfStates(energies, counts, n, kind)
    # Gaussian patterns.
    if kind == "errors":
        hist, _, _, amb, _ = _run_gauss(instance, 0, hist_len=p + 1)
        hist = hist.sum(axis=0)
        errs, _ = _recheck(instance, amb)
        np.add.at(hist, errs, 1)
        lv = np.flatnonzero(hist)
        return DensityOfStates(lv.astype(np.int64), hist[lv].astype(np.int64), n, kind)
    if n > MAX_N_GAUSSIAN_LINEAR:
        raise ValueError(
            f"N={n} is too large for the Gaussian 'linear' density of states (one float per "
            f"configuration); the limit is N <= {MAX_N_GAUSSIAN_LINEAR}"
        )
    energies = np.zeros(2**n, np.float64)
    _, _, _, amb, _ = _run_gauss(instance, 1, energies=energies)
    _, lin = _recheck(instance, amb)
    energies[amb] = lin
    e, counts = np.unique(energies, return_counts=True)
    e, counts = _merge_levels(e, counts.astype(np.int64), _MERGE_RTOL)
    return DensityOfStates(e, counts, n, kind)


@_small_serial
def distance_profile(instance, reference) -> np.ndarray:
    """Number of solutions at each Hamming distance from a reference configuration.

    Parameters
    ----------
    instance : PerceptronInstance
    reference : array_like, shape (N,)
        Entries +-1 (any integer or float dtype).

    Returns
    -------
    ndarray, shape (N + 1,), int64
        ``profile[k] = #{w solution : sum_i [w_i != reference_i] = k}``; sums to
        :func:`count_solutions`.
    """
    n = _check_instance(instance)
    ref = np.asarray(reference)
    if ref.shape != (n,):
        raise ValueError(f"reference must have shape (N,) = ({n},), got shape {ref.shape}")
    if not np.all((ref == 1) | (ref == -1)):
        bad = ref[~((ref == 1) | (ref == -1))].ravel()[:3]
        raise ValueError(f"reference must have entries +-1 only, got {bad.tolist()}")
    ref_bits = config_to_index(ref.astype(np.int8))
    if instance.patterns == "binary":
        cc, thr = _binary_tables(instance)
        top, n_chunks = _layout(n - 1, _LOW_BITS_BINARY)
        hist, _, _ = _kernels.scan_binary(
            cc, thr, 1, top, n_chunks, 2, ref_bits, np.zeros((1 << top) + 1, np.int64), n + 1, 0
        )
        return hist.sum(axis=0)
    hist, _, _, amb, _ = _run_gauss(instance, 2, ref_bits=ref_bits, hist_len=n + 1)
    hist = hist.sum(axis=0)
    errs, _ = _recheck(instance, amb)
    sol = amb[errs == 0]
    if sol.size:
        d = ((index_to_config(sol, n) != ref[None, :]).sum(axis=1)).astype(np.int64)
        np.add.at(hist, d, 1)
    return hist


def boltzmann_distribution(dos: DensityOfStates, beta: float) -> np.ndarray:
    """Exact probability of each energy level at inverse temperature ``beta``.

    Parameters
    ----------
    dos : DensityOfStates
    beta : float
        ``>= 0``; ``math.inf`` gives the uniform distribution on the ground states.

    Returns
    -------
    ndarray, shape (L,), float64
        ``p_l = g_l exp(-beta E_l) / Z`` (log-sum-exp; sums to 1).
    """
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise ValueError(f"beta={beta!r} must be a number >= 0 (inf allowed)") from None
    if math.isnan(beta) or beta < 0:
        raise ValueError(f"beta={beta!r} must be a number >= 0 (inf allowed)")
    e = np.asarray(dos.energies, np.float64)
    g = np.asarray(dos.counts, np.float64)
    out = np.zeros(e.size, np.float64)
    if math.isinf(beta):
        ground = e == e.min()
        out[ground] = g[ground] / g[ground].sum()
        return out
    logw = np.log(g) - beta * (e - e.min())
    logw -= logw.max()
    w = np.exp(logw)
    return w / w.sum()
