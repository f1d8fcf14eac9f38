"""Replica-inspired samplers: the robust ensemble (replicated annealing) and a walk coupled to
a reference configuration over a ladder of coupling strengths (local-entropy Monte Carlo).

Both build on the external-field path of the kernels: chain c samples
``exp(-beta E(w) + sum_i f_i w_i)`` with a field ``f`` the sampler sets between sweeps.

References
----------
Baldassi, Ingrosso, Lucibello, Saglietti, Zecchina, "Unreasonable effectiveness of learning
neural networks: from accessible states and robust ensembles to basic algorithmic schemes",
PNAS 113, E7655 (2016): the robust ensemble, Eq. (3)-(4), replicated simulated annealing.
Huang and Kabashima, PRE 90, 052813 (2014): Franz-Parisi entropy at fixed distance from a
reference (the quantity the reference-field walk estimates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import _rng
from ..errors import as_real
from . import _kernels as K
from . import schedules
from .base import ENERGIES, Sampler
from .metropolis import exchange_aux, exchange_pass, exchange_summary, find_solutions

FORMS = ("centre", "traced")


def _log2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax))


@dataclass(frozen=True, eq=False)
class ReplicatedAnnealing(Sampler):
    """Replicated simulated annealing in the robust ensemble (Baldassi et al. 2016).

    ``y`` replicas per chain, coupled with strength ``gamma`` to a centre ``w~``:

        P(w~, {w^a}) ∝ prod_a exp(-beta E(w^a) + gamma w^a . w~).

    ``form="centre"``: the centre is explicit and moved by Metropolis (one sweep of the
    replicas in parallel with the field ``gamma w~``, then one sweep of the centre).
    ``form="traced"``: the centre is summed out, ``P({w^a}) ∝ prod_a exp(-beta E(w^a))
    prod_i 2 cosh(gamma S_i)``, ``S_i = sum_a w^a_i``; replicas are swept one after the other,
    each in the exact conditional field ``f_i = [log cosh(gamma(S'_i + 1)) - log cosh(gamma
    (S'_i - 1))] / 2`` of the others (``S'_i``), which is a valid Gibbs-block scheme.

    ``beta_schedule`` and ``gamma_schedule`` give beta and gamma per sweep (same length; the
    "scoping" of gamma). With ``y = 1`` or ``gamma = 0`` every replica is an independent
    annealing chain, bit for bit (tested).
    """

    beta_schedule: np.ndarray = field(default_factory=lambda: schedules.geometric(1.0, 30.0, 1000))
    gamma_schedule: np.ndarray = field(default_factory=lambda: schedules.geometric(0.05, 3.0, 1000))
    y: int = 3
    form: str = "centre"
    energy: str = "errors"
    name = "replicated"

    def __post_init__(self):
        b = schedules.from_array(self.beta_schedule)
        g = np.array(self.gamma_schedule, dtype=np.float64).reshape(-1)
        if g.shape != b.shape or not np.all(np.isfinite(g)) or np.any(g < 0):
            raise ValueError(
                f"gamma_schedule must be finite, >= 0, and as long as beta_schedule ({len(b)}), got shape {g.shape}"
            )
        b.setflags(write=False)
        g.setflags(write=False)
        object.__setattr__(self, "beta_schedule", b)
        object.__setattr__(self, "gamma_schedule", g)
        if isinstance(self.y, bool) or not isinstance(self.y, (int, np.integer)) or self.y < 1:
            raise ValueError(f"y={self.y!r} must be an integer >= 1 (number of replicas)")
        if self.form not in FORMS:
            raise ValueError(f"form={self.form!r} is not allowed; choose 'centre' or 'traced'")
        if self.energy not in ENERGIES:
            raise ValueError(f"energy={self.energy!r} is not allowed; choose 'errors' or 'linear'")

    @classmethod
    def for_sweeps(cls, n_sweeps, *, y=3, beta_start=1.0, beta_end=1000.0, gamma_start=0.1, gamma_end=10.0,
                   form="centre", energy="linear"):
        """Geometric beta and gamma schedules of ``n_sweeps`` sweeps.

        Defaults (tuned at N = 201-801, kappa = 0; ``docs_mc_solvers.md``): the linear energy,
        beta 1 -> 1000 (= 35 sqrt(N) at N = 801; :func:`spinglass_nets.solve` sets
        ``beta_end = 35 sqrt(N)`` for the instance at hand), gamma scoped 0.1 -> 10 and y = 3.
        A small initial gamma matters: starting at gamma ~ 1 glues the replicas together
        before they have found a low-energy region. With ``energy="errors"`` pass betas of
        order 1-30 (the errors energy changes by integers).
        """
        schedules._check(n_sweeps, "n_sweeps")
        gamma_start = schedules._check_beta(gamma_start, "gamma_start")
        return cls(schedules.geometric(beta_start, beta_end, n_sweeps),
                   schedules.geometric(gamma_start, gamma_end, n_sweeps, what="gamma") if gamma_start > 0
                   else schedules.linear(gamma_start, gamma_end, n_sweeps, what="gamma"), y=y, form=form, energy=energy)

    @property
    def n_temperatures(self):
        return self.y

    def default_sweeps(self):
        return len(self.beta_schedule)

    def check(self, instance, n_sweeps):
        if n_sweeps > len(self.beta_schedule):
            raise ValueError(f"n_sweeps={n_sweeps} exceeds the schedule length {len(self.beta_schedule)}")

    def betas(self, sweep0, n):
        idx = np.minimum(np.arange(sweep0, sweep0 + n), len(self.beta_schedule) - 1)
        return np.repeat(self.beta_schedule[idx][None, :], self.y, axis=0)

    def init_aux(self, n_chains, root):
        aux = {"slot_of": np.tile(np.arange(self.y, dtype=np.int64), (n_chains, 1))}
        aux["chain_at"] = aux["slot_of"].copy()
        if self.form == "centre":
            # The centre of chain c has its own stream, spawn key root + (c, y).
            st = np.zeros((n_chains, 4), dtype=np.uint64)
            centre = np.empty((n_chains, 0), dtype=np.int8)
            for c in range(n_chains):
                st[c] = _rng.chain_states(_rng.chain_seed(root, c), 1, offset=self.y)[0]
            aux["centre_rng"] = st
            aux["centre"] = centre  # sized in prepare, when N is known
        return aux

    def prepare(self, instance, engine, aux):
        if self.form == "centre":
            # Start the centre at the replicas' majority (ties +1): a deterministic function
            # of the initial replicas, so no draw is spent.
            S = engine.w.reshape(-1, self.y, instance.n).sum(axis=1, dtype=np.int64)
            aux["centre"] = np.where(S >= 0, 1, -1).astype(np.int8)
        return engine

    def _gamma(self, sweep):
        return float(self.gamma_schedule[min(sweep, len(self.gamma_schedule) - 1)])

    def sweep_block(self, engine, aux, betas, sweep0):
        y, n = self.y, engine.lay.n
        M = engine.C // y
        for t in range(betas.shape[1]):
            g = self._gamma(sweep0 + t)
            bt = np.ascontiguousarray(betas[:, t : t + 1])
            w = engine.w.reshape(M, y, n)
            if self.form == "centre":
                engine.set_field(np.repeat(g * aux["centre"].astype(np.float64), y, axis=0))
                engine.sweep(bt)
                S = engine.w.reshape(M, y, n).sum(axis=1, dtype=np.int64)
                K.centre_sweep(aux["centre"], S, g, aux["centre_rng"])
            else:
                S = w.sum(axis=1, dtype=np.int64)
                for a in range(y):
                    Sp = (S - engine.w.reshape(M, y, n)[:, a, :]).astype(np.float64)
                    f = 0.5 * (_log2cosh(g * (Sp + 1.0)) - _log2cosh(g * (Sp - 1.0)))
                    full = np.zeros((M, y, n))
                    full[:, a, :] = f
                    engine.set_field(full.reshape(M * y, n))
                    active = np.zeros((M, y), dtype=np.int8)
                    active[:, a] = 1
                    engine.sweep(bt, active.reshape(-1))
                    S = engine.w.reshape(M, y, n).sum(axis=1, dtype=np.int64)

    def summary(self, aux):
        return {}


@dataclass(frozen=True, eq=False)
class ReferenceTempering(Sampler):
    """Configurations coupled to a reference over a ladder of coupling strengths.

    Replica k of each chain samples ``pi_k(w) ∝ exp(-beta E(w) + lams[k] w . reference)``;
    with ``beta = inf`` (default) only solutions are visited (chains start at solutions: pass
    ``init=`` or they anneal to one, as :class:`SolutionWalk`), and ``pi_k`` weighs the
    solutions at Hamming distance ``k_d`` from the reference by ``exp(lams[k] (N - 2 k_d))``.
    Neighbouring couplings exchange configurations with probability
    ``min(1, exp((lams[k+1] - lams[k]) (m_k - m_{k+1})))``, ``m = w . reference``.

    **Which solutions are sampled.** With ``beta = inf`` a chain moves by single flips inside
    the solution space, so it samples the single-flip-connected clusters it starts in, not
    all solutions: typical solutions are isolated, and this is the *cluster* local entropy.
    For the local entropy over all solutions use a finite ``beta`` (e.g. 2-4 at small N)
    and keep the samples with ``E = 0``: conditioned on ``E = 0`` the law is exactly
    ``∝ exp(lams[k] w . reference)`` over all solutions (tested against enumeration).
    Distance histograms across the ladder give the number of solutions at each distance
    (the finite-N Franz-Parisi local entropy; see :mod:`spinglass_nets.analysis`).
    Traces are in ladder order (column ``c * K + k`` at ``lams[k]``).
    """

    reference: np.ndarray = field(default_factory=lambda: np.ones(1, dtype=np.int8))
    lams: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, 6))
    beta: float = math.inf
    swap_every: int = 1
    energy: str = "errors"
    find_sweeps: int = 400
    name = "reference_tempering"

    def __post_init__(self):
        ref = np.array(self.reference).reshape(-1)
        if ref.size < 1 or not np.all((ref == 1) | (ref == -1)):
            raise ValueError("reference must be a non-empty +-1 vector")
        ref = ref.astype(np.int8)
        ref.setflags(write=False)
        object.__setattr__(self, "reference", ref)
        lam = np.array(self.lams, dtype=np.float64).reshape(-1)
        if lam.size < 1 or not np.all(np.isfinite(lam)) or np.any(np.diff(lam) <= 0):
            raise ValueError(f"lams must be finite and strictly increasing, got {self.lams!r}")
        lam.setflags(write=False)
        object.__setattr__(self, "lams", lam)
        b = as_real("beta", self.beta)
        if math.isnan(b) or b < 0:
            raise ValueError(f"beta={self.beta!r} must be >= 0 (inf allowed)")
        object.__setattr__(self, "beta", b)
        for name in ("swap_every", "find_sweeps"):
            schedules._check(getattr(self, name), name)
        if self.energy not in ENERGIES:
            raise ValueError(f"energy={self.energy!r} is not allowed; choose 'errors' or 'linear'")

    @property
    def n_temperatures(self):
        return len(self.lams)

    def check(self, instance, n_sweeps):
        if self.reference.shape != (instance.n,):
            raise ValueError(f"reference has length {self.reference.size}; the instance has N = {instance.n}")

    def betas(self, sweep0, n):
        return np.full((len(self.lams), n), self.beta)

    def block_boundaries(self, sweep0, sweep1):
        first = (sweep0 // self.swap_every + 1) * self.swap_every
        return list(range(first, sweep1, self.swap_every))

    def init_aux(self, n_chains, root):
        return exchange_aux(n_chains, root, len(self.lams))

    def prepare(self, instance, engine, aux):
        self.check(instance, 0)
        if self.beta == math.inf and not np.all(engine.energies() == 0):
            if self.energy != "errors":
                raise ValueError("with beta = inf pass init= solutions (or use energy='errors')")
            return find_solutions(instance, engine, self.find_sweeps)
        return engine

    def attach(self, engine, aux):
        lam = self.lams[aux["slot_of"].reshape(-1)]
        engine.set_field(lam[:, None] * self.reference[None, :].astype(np.float64))

    def exchange(self, engine, aux, sweep):
        if sweep % self.swap_every:
            return
        M, Kt = aux["chain_at"].shape
        m = (engine.w.astype(np.int64) @ self.reference.astype(np.int64)).astype(np.float64)
        exchange_pass(aux, -m.reshape(M, Kt), self.lams)  # "energy" -m against the ladder lams
        self.attach(engine, aux)

    def summary(self, aux):
        return exchange_summary(aux)
