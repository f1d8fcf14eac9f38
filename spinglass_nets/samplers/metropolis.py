"""Single-flip Metropolis samplers: fixed temperature, annealing, replica exchange, and the
zero-temperature walk on the solution space. All share the kernels of ``_kernels.py``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import _rng
from ..errors import as_real
from . import _kernels as K
from . import schedules
from .base import ENERGIES, Sampler


def _check_energy(energy):
    if energy not in ENERGIES:
        raise ValueError(f"energy={energy!r} is not allowed; choose 'errors' or 'linear'")


@dataclass(frozen=True)
class Metropolis(Sampler):
    """Metropolis at fixed inverse temperature ``beta`` (``inf``: zero temperature,
    moves with dE <= 0 only). ``energy`` is ``"errors"`` or ``"linear"``."""

    beta: float = 1.0
    energy: str = "errors"
    name = "metropolis"

    def __post_init__(self):
        b = as_real("beta", self.beta)
        if math.isnan(b) or b < 0:
            raise ValueError(f"beta={self.beta!r} must be >= 0 (inf allowed)")
        object.__setattr__(self, "beta", b)
        _check_energy(self.energy)

    def betas(self, sweep0, n):
        return np.full((1, n), self.beta)


@dataclass(frozen=True, eq=False)
class SimulatedAnnealing(Sampler):
    """Metropolis with a per-sweep inverse-temperature schedule (1-d array, one beta per
    sweep; see :mod:`spinglass_nets.samplers.schedules`). ``n_sweeps`` defaults to the
    schedule length and may not exceed it."""

    schedule: np.ndarray = field(default_factory=lambda: schedules.geometric(0.5, 10.0, 200))
    energy: str = "errors"
    name = "anneal"

    def __post_init__(self):
        object.__setattr__(self, "schedule", schedules.from_array(self.schedule))
        self.schedule.setflags(write=False)
        _check_energy(self.energy)

    def default_sweeps(self):
        return len(self.schedule)

    def check(self, instance, n_sweeps):
        if n_sweeps > len(self.schedule):
            raise ValueError(f"n_sweeps={n_sweeps} exceeds the schedule length {len(self.schedule)}")

    def betas(self, sweep0, n):
        idx = np.minimum(np.arange(sweep0, sweep0 + n), len(self.schedule) - 1)
        return self.schedule[idx][None, :]


@dataclass(frozen=True, eq=False)
class ParallelTempering(Sampler):
    """Replica exchange (parallel tempering) over a ladder of inverse temperatures.

    Each chain holds ``K = len(betas)`` replicas, one per temperature. Every
    ``swap_every`` sweeps, neighbouring temperatures attempt an exchange with probability
    ``min(1, exp((beta_{k+1} - beta_k)(E_{k+1} - E_k)))``, alternating even and odd pairs.
    Statistics: per-pair swap acceptance and completed round trips (a replica going from
    the hottest to the coldest temperature and back).
    """

    betas_ladder: np.ndarray = field(default_factory=lambda: schedules.ladder(0.5, 5.0, 8))
    swap_every: int = 1
    energy: str = "errors"
    name = "tempering"

    def __post_init__(self):
        b = np.array(self.betas_ladder, dtype=np.float64).reshape(-1)
        if b.size < 2 or not np.all(np.isfinite(b)) or np.any(b < 0) or np.any(np.diff(b) <= 0):
            raise ValueError(
                f"betas_ladder must hold >= 2 finite, strictly increasing betas >= 0, got {self.betas_ladder!r}"
            )
        b.setflags(write=False)
        object.__setattr__(self, "betas_ladder", b)
        se = self.swap_every
        if isinstance(se, bool) or not isinstance(se, (int, np.integer)) or se < 1:
            raise ValueError(f"swap_every={se!r} must be an integer >= 1")
        _check_energy(self.energy)

    @property
    def n_temperatures(self):
        return len(self.betas_ladder)

    def betas(self, sweep0, n):
        return np.repeat(self.betas_ladder[:, None], n, axis=1)

    def block_boundaries(self, sweep0, sweep1):
        first = (sweep0 // self.swap_every + 1) * self.swap_every
        return list(range(first, sweep1, self.swap_every))

    def init_aux(self, n_chains, root):
        return exchange_aux(n_chains, root, self.n_temperatures)

    def exchange(self, engine, aux, sweep):
        if sweep % self.swap_every:
            return
        M, Kt = aux["chain_at"].shape
        exchange_pass(aux, engine.energies().reshape(M, Kt), self.betas_ladder)
        aux["beta_now"] = self.betas_ladder[aux["slot_of"].reshape(-1)]

    def summary(self, aux):
        return exchange_summary(aux)


def exchange_aux(n_chains, root, Kt) -> dict:
    """Bookkeeping arrays of replica exchange over a ladder of Kt values per chain."""
    swap_rng = np.zeros((n_chains, 4), dtype=np.uint64)
    for c in range(n_chains):
        # The exchange stream of chain c: spawn key root + (c, K), next to its replicas'.
        swap_rng[c] = _rng.chain_states(_rng.chain_seed(root, c), 1, offset=Kt)[0]
    ident = np.tile(np.arange(Kt, dtype=np.int64), (n_chains, 1))
    return {
        "slot_of": ident.copy(),
        "chain_at": ident.copy(),
        "swap_rng": swap_rng,
        "n_swaps": np.zeros(1, dtype=np.int64),
        "swap_accepted": np.zeros(Kt, dtype=np.int64),
        "swap_attempted": np.zeros(Kt, dtype=np.int64),
        # 0: not yet at an end; 1: last end visited was the hottest; 2: the coldest
        "direction": np.zeros((n_chains, Kt), dtype=np.int64),
        "round_trips": np.zeros(n_chains, dtype=np.int64),
    }


def exchange_pass(aux, energies, ladder):
    """One even/odd exchange pass; ``energies`` (M, K) per replica, ``ladder`` (K,) ascending.

    Neighbours exchange with probability ``min(1, exp((l_{k+1} - l_k)(E_{k+1} - E_k)))``.
    """
    M, Kt = aux["chain_at"].shape
    uniforms = np.empty((M, Kt))
    for s in range(M):
        uniforms[s] = _rng.draw_uniforms(aux["swap_rng"][s], Kt)
    offset = int(aux["n_swaps"][0] % 2)
    K.pt_swap_pass(np.ascontiguousarray(energies, dtype=np.float64), ladder, aux["slot_of"], aux["chain_at"],
                   offset, uniforms, aux["swap_accepted"], aux["swap_attempted"])
    aux["n_swaps"][0] += 1
    _update_round_trips(aux, Kt)


def exchange_summary(aux) -> dict:
    if "swap_attempted" not in aux:
        return {}
    att = aux["swap_attempted"][:-1]
    return {
        "swap_acceptance": (aux["swap_accepted"][:-1] / np.maximum(att, 1)).tolist(),
        "round_trips": aux["round_trips"].tolist(),
    }


def _update_round_trips(aux, Kt):
    if Kt == 1:  # one temperature: nothing to exchange, no round trips
        return
    slot = aux["slot_of"]
    d = aux["direction"]
    at_hot = slot == 0
    at_cold = slot == Kt - 1
    aux["round_trips"] += np.sum((d == 2) & at_hot, axis=1)
    d[at_hot] = 1
    d[at_cold & (d == 1)] = 2


@dataclass(frozen=True)
class SolutionWalk(Sampler):
    """Random walk on the solution space: zero-temperature Metropolis (errors energy) that
    starts from solutions and rejects every move leaving the solution space. Its stationary
    law is uniform over the single-flip-connected cluster of its start.

    With ``init=None``, and for every chain whose ``init`` is not a solution, the chain first
    anneals (geometric beta 1 -> 30 over ``find_sweeps`` sweeps, then zero temperature; up to
    three passes) and starts from the first solution it visits; chains given solutions start
    there unchanged. A chain that visits none raises ValueError. Annealing is a weak solver (its reach falls with N at a fixed
    budget): for hard instances pass ``init=`` solutions from a better solver.
    """

    find_sweeps: int = 400
    energy: str = field(default="errors", init=False)
    name = "walk"

    def __post_init__(self):
        fs = self.find_sweeps
        if isinstance(fs, bool) or not isinstance(fs, (int, np.integer)) or fs < 1:
            raise ValueError(f"find_sweeps={fs!r} must be an integer >= 1")

    def params(self):
        return {"find_sweeps": self.find_sweeps}

    def betas(self, sweep0, n):
        return np.full((1, n), np.inf)

    def prepare(self, instance, engine, aux):
        return find_solutions(instance, engine, self.find_sweeps)


def find_solutions(instance, engine, find_sweeps):
    """Anneal every chain of ``engine`` that is not at a solution until it has visited one;
    returns a new errors-energy engine started at those solutions (same generator states).

    Only the chains still searching are swept (the others neither move nor draw), so each
    chain's start and stream depend on its own stream alone: a run with more chains starts
    its first chains exactly as a run with fewer."""
    found = engine.energies() == 0
    if found.all():
        return engine
    from ._engine import Engine

    sched = np.concatenate([schedules.geometric(1.0, 30.0, find_sweeps), np.full(find_sweeps // 4 + 1, np.inf)])
    w_found = engine.w.copy()
    # Up to three passes of the schedule; every 10 sweeps each chain's first solution is
    # kept (annealing visits solutions it does not stay in at small N).
    for _ in range(3):
        for t in range(0, len(sched), 10):
            blk = sched[t : t + 10]
            engine.sweep(np.tile(blk, (engine.C, 1)), active=~found)
            new = (engine.energies() == 0) & ~found
            w_found[new] = engine.w[new]
            found |= new
            if found.all():
                break
        if found.all():
            break
    if not found.all():
        bad = np.flatnonzero(~found)
        raise ValueError(
            f"found no solution for chains {bad.tolist()[:10]} in 3 x {len(sched)} annealing sweeps; "
            "pass init= solutions or raise find_sweeps (command line: --init, --find-sweeps)"
        )
    return Engine(instance, w_found, engine.rng_state(), "errors")
