"""Entropy-driven Monte Carlo (EdMC): a Markov chain on a centre configuration whose energy
is minus its local free entropy, estimated by belief propagation.

Baldassi, Ingrosso, Lucibello, Saglietti, Zecchina, "Local entropy as a measure for sampling
solutions in constraint satisfaction problems", J. Stat. Mech. (2016) 023301, Sec. 4.

The chain state is the centre ``w~`` and the BP messages at its fixed point. The energy of
the centre is ``-N F(w~, gamma)`` with

    F(w~, gamma) = (1/N) log sum_w X(w) exp(gamma w . w~)      (X = 1 on solutions),

the Bethe free entropy of BP with the external field ``gamma w~`` (:func:`spinglass_nets.bp.bp`
with ``reference=w~, lam=gamma``). A sweep is N proposals: a site drawn uniformly, the
centre flipped there, BP warm-started from the current messages and iterated to ``tol``,
and the flip accepted by Metropolis on ``-N F`` at inverse temperature ``beta_e`` (accepted
without a draw when ``F`` does not decrease; ``beta_e = inf``: only then). A rejected flip
restores the centre and the messages.

Where BP fails. F is defined only where BP converges. A proposal whose BP does not converge
within ``max_iter`` iterations to a possible value (finite, ``F <= log 2 + gamma``, the sum
over all 2^N configurations) is rejected. If BP at the current centre does not converge
after a change of gamma, F is unknown (``nan`` in the trace): that sweep's proposals draw
their sites and are rejected, and BP is tried again at the start of the next sweep. This
matters at large gamma: next to a solution the marginals freeze, BP on a flipped centre
often fails to converge, and an unconverged iterate can report F ~ 1e5 (or a plausible but
wrong value), which a greedy chain would otherwise keep, leaving the solution. Judging
unconverged iterates instead (as the original solver did) solves a few more instances by
luck but makes the chain a function of BP's failures. ``gamma`` grows from sweep to sweep ("scoping"), which
drives the centre into a dense region of solutions and finally onto a solution.

Exactness. Because BP is warm-started, ``F`` depends (below ``tol``) on the message state,
so the messages are part of the chain's state: they live in ``State.aux`` and in every store
checkpoint, and a resumed run repeats an uninterrupted one bit for bit (tested, also by
SIGKILL). All of one block runs in one compiled call, one chain per thread
(:func:`spinglass_nets.bp._kernels.edmc_sweeps_amp`); results do not depend on the thread
count.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np

from .base import Sampler

BP_METHODS = ("amp", "edge")
_LAYOUTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _BPLayout:
    """Instance-only arrays of the EdMC kernels (cached per instance)."""

    def __init__(self, instance):
        from ..bp.core import check_instance, effective_kappa

        check_instance(instance)
        c = instance.c()
        self.n, self.p = instance.n, instance.p
        self.scale = 1.0 / math.sqrt(instance.n)
        self.kappa = effective_kappa(instance)
        self.binary = instance.patterns == "binary"
        dt = np.int8 if self.binary else np.float64
        self.c_amp = np.ascontiguousarray(c, dtype=dt)
        self.cT_amp = np.ascontiguousarray(self.c_amp.T)
        self._c_edge = None

    @property
    def c_edge(self):
        if self._c_edge is None:
            self._c_edge = np.ascontiguousarray(self.c_amp, dtype=np.float64)
        return self._c_edge


def _layout(instance) -> _BPLayout:
    lay = _LAYOUTS.get(instance)
    if lay is None:
        lay = _BPLayout(instance)
        _LAYOUTS[instance] = lay
    return lay


class CentreEngine:
    """The engine of :class:`EntropyDrivenMC`: the centres, their generator states and the
    acceptance counters (the BP messages are in the sampler's ``aux``). It has the part of
    the Metropolis engine's interface the driver uses (``w``, ``energies``, ``fields``,
    ``rng_state``, ``take_counters``, ``C``)."""

    def __init__(self, instance, w, rng_state):
        self.instance = instance
        self.lay = _layout(instance)
        self._w = np.ascontiguousarray(np.array(w, dtype=np.int8))
        self.C = self._w.shape[0]
        self.rng = np.ascontiguousarray(np.array(rng_state, dtype=np.uint64).reshape(self.C, 4))
        self.counts = np.zeros((self.C, 2), dtype=np.int64)  # accepted, proposed

    @property
    def w(self):
        return self._w

    def energies(self):
        """(C,) float64: the errors of each centre."""
        return np.asarray(self.instance.energy(self._w), dtype=np.float64).reshape(self.C)

    def fields(self):
        return self.instance.fields(self._w)

    def rng_state(self):
        return self.rng.copy()

    def take_counters(self):
        acc, prop = self.counts[:, 0].copy(), self.counts[:, 1].copy()
        self.counts[:] = 0
        return acc, prop


def _check_float(name, value, lo, hi=math.inf, lo_open=False, hi_open=False, allow_inf=False):
    """A float in the given range, or one ValueError naming the value and the range."""
    rng = f"{'>' if lo_open else '>='} {lo:g}" + ("" if hi == math.inf else f" and {'<' if hi_open else '<='} {hi:g}")
    what = f"a number {rng} (inf allowed)" if allow_inf else f"a finite number {rng}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if (math.isnan(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi)
            or (math.isinf(v) and not allow_inf)):
        raise ValueError(f"{name}={value!r} is not allowed: must be {what}")
    return v


@dataclass(frozen=True, eq=False)
class EntropyDrivenMC(Sampler):
    """Entropy-driven Monte Carlo on a centre configuration (module docstring).

    Parameters
    ----------
    gamma0, gamma_growth, gamma_max : float
        Scoping of the coupling to the centre: ``gamma_t = min(gamma0 * gamma_growth**t,
        gamma_max)`` at sweep t (``gamma0 > 0``, ``gamma_growth >= 1``, ``gamma_max >=
        gamma0``). Ignored when ``gamma_schedule`` is given.
    gamma_schedule : array (S,), optional
        Explicit gamma per sweep (finite, >= 0); ``n_sweeps`` defaults to its length and
        may not exceed it.
    beta_e : float
        Inverse temperature of the centre's chain on the energy ``-N F`` (``inf``, the
        default: greedy, a flip is kept only if F does not decrease).
    tol, max_iter, damping : float, int, float
        BP: stop when no marginal moves by more than ``tol``; at most ``max_iter``
        iterations per proposal (a proposal whose BP does not converge is rejected; see the
        module docstring; counts in ``stats["bp_unconverged"]``, ``stats["bp_rejected"]``);
        damping in [0, 1).
    bp_method : {"amp", "edge"}
        Message representation (see :mod:`spinglass_nets.bp.core`): ``"amp"`` (default,
        O(N + P) messages, ~40x cheaper per iteration at N = 201) or ``"edge"`` (one message
        per pattern and weight; most accurate at small N; its messages, P x N per chain, are
        checkpointed).

    Traces: ``energy`` (errors of the centre), ``free_entropy`` (F of the centre at the
    record) and ``gamma`` per record and chain; ``beta`` holds ``beta_e``.
    """

    gamma0: float = 0.1
    gamma_growth: float = 1.2
    gamma_max: float = 50.0
    gamma_schedule: np.ndarray | None = None
    beta_e: float = math.inf
    tol: float = 1e-6
    max_iter: int = 200
    damping: float = 0.5
    bp_method: str = "amp"
    name = "edmc"
    extra_traces = {
        "free_entropy": "local free entropy F(w~, gamma) per weight (Bethe, nats) of the centre at the record",
        "gamma": "coupling gamma of the centre's field at the record",
    }

    def __post_init__(self):
        if self.gamma_schedule is not None:
            try:
                g = np.array(self.gamma_schedule, dtype=np.float64)
            except (TypeError, ValueError):
                g = np.zeros((0, 0))
            if g.ndim != 1 or g.size == 0:
                raise ValueError(f"gamma_schedule is not allowed: must be a non-empty 1-d array of gammas, got shape "
                                 f"{g.shape}")
            bad = g[~(np.isfinite(g) & (g >= 0))]
            if bad.size:
                raise ValueError(f"gamma_schedule has entries {bad[:3].tolist()}: every gamma must be finite and >= 0")
            g.setflags(write=False)
            object.__setattr__(self, "gamma_schedule", g)
        g0 = _check_float("gamma0", self.gamma0, 0.0, lo_open=True)
        gg = _check_float("gamma_growth", self.gamma_growth, 1.0)
        gm = _check_float("gamma_max", self.gamma_max, 0.0, lo_open=True)
        if gm < g0:
            raise ValueError(f"gamma_max={self.gamma_max!r} is not allowed: must be >= gamma0={g0!r}")
        be = _check_float("beta_e", self.beta_e, 0.0, allow_inf=True)
        tol = _check_float("tol", self.tol, 0.0, lo_open=True)
        dmp = _check_float("damping", self.damping, 0.0, 1.0, hi_open=True)
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, (int, np.integer)) or mi < 1:
            raise ValueError(f"max_iter={mi!r} is not allowed: must be an integer >= 1")
        if self.bp_method not in BP_METHODS:
            raise ValueError(f"bp_method={self.bp_method!r} is not allowed; choose 'amp' or 'edge'")
        for k, v in (("gamma0", g0), ("gamma_growth", gg), ("gamma_max", gm), ("beta_e", be), ("tol", tol),
                     ("damping", dmp), ("max_iter", int(mi))):
            object.__setattr__(self, k, v)

    # ------------------------------------------------------------------- schedule
    def default_sweeps(self):
        return None if self.gamma_schedule is None else len(self.gamma_schedule)

    def check(self, instance, n_sweeps):
        _layout(instance)  # raises ValueError for instances BP does not support
        if self.gamma_schedule is not None and n_sweeps > len(self.gamma_schedule):
            raise ValueError(f"n_sweeps={n_sweeps} exceeds the gamma_schedule length {len(self.gamma_schedule)}")

    def gammas(self, sweep0: int, n: int) -> np.ndarray:
        """gamma for sweeps ``sweep0 .. sweep0 + n - 1`` (float64, (n,))."""
        t = np.arange(sweep0, sweep0 + n)
        if self.gamma_schedule is not None:
            return np.ascontiguousarray(self.gamma_schedule[np.minimum(t, len(self.gamma_schedule) - 1)])
        with np.errstate(over="ignore"):
            return np.minimum(self.gamma0 * np.power(self.gamma_growth, t.astype(np.float64)), self.gamma_max)

    def betas(self, sweep0, n):
        return np.full((1, n), self.beta_e)

    # ---------------------------------------------------------------- driver hooks
    def make_engine(self, instance, w, rng_state):
        return CentreEngine(instance, w, rng_state)

    def prepare(self, instance, engine, aux):
        """Initial messages: tiny Gaussian noise (as :func:`~spinglass_nets.bp.bp`) from a
        PCG64 seeded by the chain's generator words and a tag, so they depend on the chain's
        stream only and draw nothing from it."""
        lay = engine.lay
        C, n, p = engine.C, lay.n, lay.p
        noise = np.empty((C, n))
        for j in range(C):
            gen = np.random.Generator(np.random.PCG64([*engine.rng[j].tolist(), 0xED3C]))
            noise[j] = 1e-3 * gen.standard_normal(n)
        if self.bp_method == "amp":
            aux["bp_hpat"] = noise
            aux["bp_a"] = np.tanh(noise)
            aux["bp_v"] = 1.0 - aux["bp_a"] ** 2
            aux["bp_gold"] = np.zeros((C, p))
        else:
            # np.array: a writable copy (ascontiguousarray returns the read-only view when p == 1)
            aux["bp_u"] = np.array(np.broadcast_to(noise[:, None, :] / p, (C, p, n)))
            aux["bp_hpat"] = aux["bp_u"].sum(axis=1)
        aux["free_entropy"] = np.full((C, 1), np.nan)
        aux["gamma_now"] = np.full((C, 1), np.nan)
        # BP calls, iterations, unconverged calls, proposals rejected for want of a converged F
        aux["bp_counts"] = np.zeros((C, 4), dtype=np.int64)
        return engine

    def sweep_block(self, engine, aux, betas, sweep0):
        from ..bp import _kernels as BK

        lay = engine.lay
        gam = self.gammas(sweep0, betas.shape[1])
        cnt = np.zeros((engine.C, 6), dtype=np.int64)
        for k in ("bp_hpat", "bp_a", "bp_v", "bp_gold", "bp_u", "free_entropy", "gamma_now"):
            if k in aux:
                aux[k] = np.ascontiguousarray(aux[k], dtype=np.float64)
        if self.bp_method == "amp":
            BK.edmc_sweeps_amp(lay.c_amp, lay.cT_amp, lay.scale, lay.kappa, lay.binary, engine.w, gam, self.beta_e,
                               engine.rng, aux["bp_hpat"], aux["bp_a"], aux["bp_v"], aux["bp_gold"],
                               aux["free_entropy"], aux["gamma_now"], cnt, self.max_iter, self.tol, self.damping)
        else:
            BK.edmc_sweeps_edge(lay.c_edge, lay.scale, lay.kappa, engine.w, gam, self.beta_e, engine.rng,
                                aux["bp_u"], aux["bp_hpat"], aux["free_entropy"], aux["gamma_now"], cnt,
                                self.max_iter, self.tol, self.damping)
        engine.counts += cnt[:, :2]
        aux["bp_counts"] = aux["bp_counts"] + cnt[:, 2:]

    def record_traces(self, engine, aux):
        return {"free_entropy": aux["free_entropy"][:, 0].copy(), "gamma": aux["gamma_now"][:, 0].copy()}

    def summary(self, aux):
        if "bp_counts" not in aux:
            return {}
        cnt = aux["bp_counts"]
        calls = int(cnt[:, 0].sum())
        return {
            "free_entropy": aux["free_entropy"][:, 0].tolist(), "gamma": aux["gamma_now"][:, 0].tolist(),
            "bp_calls": calls, "bp_iterations_per_call": float(cnt[:, 1].sum() / max(calls, 1)),
            "bp_unconverged": int(cnt[:, 2].sum()), "bp_rejected": int(cnt[:, 3].sum()),
        }

    # ------------------------------------------------------------------- helpers
    def marginals(self, state) -> np.ndarray:
        """BP marginals ``<w_i>`` (C, N) at each chain's current centre, from ``state.aux``."""
        aux = state.aux
        if self.bp_method == "amp":
            return np.array(aux["bp_a"])
        return np.tanh(aux["gamma_now"] * state.w + aux["bp_hpat"])
