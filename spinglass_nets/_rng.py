"""Randomness: ``rng=`` normalisation (SPEC 7), per-chain streams, and the kernel generator.

Every stochastic function takes ``rng=None | int | SeedSequence | Generator`` and calls
:func:`as_seed_sequence` once. Chain ``c`` of a run always gets the stream
``SeedSequence(entropy, spawn_key=root.spawn_key + (c,))``: it depends on the root seed and
the chain index only, never on how many chains run or on earlier spawns, so a run with more
chains extends one with fewer, and a resumed run continues the same streams.

Kernels draw from xoshiro256** (Blackman and Vigna 2018), one state of four uint64 words per
chain held in a plain ``(C, 4)`` uint64 array. That array *is* the generator state: it is
returned with the sampler state, checkpointed into the store as a dataset, and restored
bit for bit; no Generator object crosses into compiled code. (DESIGN.md suggested NumPy
Generators inside kernels; a state array is what makes ``prange`` over chains, thread-count
independence and exact checkpoints trivial.)
"""

from __future__ import annotations

import numpy as np

from ._numba import njit

RngLike = "None | int | np.random.SeedSequence | np.random.Generator"


def as_seed_sequence(rng=None) -> np.random.SeedSequence:
    """Normalise ``rng`` to a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    rng : None, int, SeedSequence or Generator
        ``None`` draws fresh OS entropy (recorded, so the run stays reproducible from its
        store); an int >= 0 seeds deterministically; a Generator is advanced by one draw
        of 128 bits that become the entropy.
    """
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        words = rng.integers(0, 2**32, size=4, dtype=np.uint64)
        return np.random.SeedSequence([int(x) for x in words])
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
        return np.random.SeedSequence(int(rng))
    raise ValueError(
        f"rng must be None, a non-negative int, a numpy SeedSequence or Generator; got {type(rng).__name__}"
    )


def as_generator(rng=None) -> np.random.Generator:
    """A NumPy Generator for Python-side draws (instances, initial states)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(as_seed_sequence(rng))


def seed_record(ss: np.random.SeedSequence) -> dict:
    """JSON-able provenance of a SeedSequence: ``{"entropy": ..., "spawn_key": [...]}``."""
    return {"entropy": str(ss.entropy), "spawn_key": [int(k) for k in ss.spawn_key]}


def seed_from_record(rec: dict) -> np.random.SeedSequence:
    """Inverse of :func:`seed_record`."""
    return np.random.SeedSequence(int(rec["entropy"]), spawn_key=tuple(int(k) for k in rec["spawn_key"]))


def chain_seed(root: np.random.SeedSequence, c: int) -> np.random.SeedSequence:
    """The stream of chain ``c``: spawn key ``root.spawn_key + (c,)``."""
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (int(c),))


def chain_states(root: np.random.SeedSequence, n_chains: int, offset: int = 0) -> np.ndarray:
    """Kernel generator states, shape ``(n_chains, 4)`` uint64, for chains offset..offset+C-1."""
    out = np.empty((n_chains, 4), dtype=np.uint64)
    for c in range(n_chains):
        s = chain_seed(root, offset + c).generate_state(4, np.uint64)
        if not s.any():  # xoshiro's one forbidden state; probability 2**-256
            s[0] = 1
        out[c] = s
    return out


# --- xoshiro256** in compiled code ------------------------------------------------------
# The four state words travel as local scalars so LLVM keeps them in registers inside a
# sweep; kernels load them from the (C, 4) array at entry and store them back at exit.


@njit
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit
def xoshiro_next(s0, s1, s2, s3):
    """One step: returns (output, s0, s1, s2, s3)."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit
def u64_to_unit(x):
    """Uniform double in [0, 1) from the top 53 bits."""
    return np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit
def bounded(x, n):
    """Map a uint64 draw to [0, n) by Lemire's multiply-shift on its top 32 bits.

    Returns (value, ok). ``ok`` is False in the rare rejection zone (probability
    < n / 2**32); the caller then draws again, which keeps the result exactly uniform.
    """
    m = (x >> np.uint64(32)) * np.uint64(n)
    low = m & np.uint64(0xFFFFFFFF)
    if low < np.uint64(n):
        thresh = (np.uint64(0x100000000) - np.uint64(n)) % np.uint64(n)
        if low < thresh:
            return np.int64(0), False
    return np.int64(m >> np.uint64(32)), True



@njit(inline="always")
def draw_below(s0, s1, s2, s3, n):
    """An integer uniform on [0, n) from the xoshiro256** state (s0..s3): :func:`bounded`,
    redrawn in its rejection zone. Returns (value, s0, s1, s2, s3)."""
    ok = False
    i = np.int64(0)
    while not ok:
        x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        i, ok = bounded(x, n)
    return i, s0, s1, s2, s3

@njit
def draw_uniforms(state, n):
    """Test helper: ``n`` uniforms from one (4,) uint64 state (advanced in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(n, dtype=np.float64)
    for k in range(n):
        x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
        out[k] = u64_to_unit(x)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out


@njit
def draw_bounded(state, n, size):
    """Test helper: ``size`` integers uniform on [0, n) from one (4,) uint64 state."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = np.empty(size, dtype=np.int64)
    for k in range(size):
        out[k], s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, n)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out
