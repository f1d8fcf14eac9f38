"""Sampler interface, state types and the one driver :func:`run` (DESIGN.md section 6).

A sampler is a frozen dataclass of hyper-parameters. ``sampler.init(instance, n_chains,
rng=...)`` returns a :class:`State`; ``sampler.step(instance, state, n_sweeps)`` returns a
new ``(State, Info)`` and leaves its input untouched; :func:`run` owns the loop, recording,
checkpoints, the store and the progress bar, and returns a :class:`RunResult`.

Chains and streams
------------------
A run has ``n_chains`` independent chains. Samplers with several temperatures
(:class:`ParallelTempering`) hold ``K`` replicas per chain; the kernels then see
``n_chains * K`` "kernel chains", ordered ``j = c * K + r`` (replica r of chain c).
Kernel chain ``j`` draws from the stream with spawn key ``root + (c, r)``
(``root + (c,)`` when K = 1); see :mod:`spinglass_nets._rng`. Recorded traces for K > 1 are
in *temperature* order: trace column ``c * K + k`` holds the configuration at temperature k.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, NamedTuple

import numpy as np

from .. import _rng
from ..models.perceptron import PerceptronInstance
from ._engine import Engine

ENERGIES = ("errors", "linear")


class State(NamedTuple):
    """Sampler state: plain arrays, one row per kernel chain.

    Attributes
    ----------
    w : (C, N) int8
        Configurations.
    fields : (C, P)
        Cached label-signed fields ``y xi . w`` (int16 for +-1 perceptrons; float64
        otherwise, as stabilities ``Delta`` for Gaussian patterns).
    energy : (C,) float64
        Current energies (errors count, or linear energy).
    beta : (C,) float64
        Inverse temperature of each chain at its last sweep.
    rng_state : (C, 4) uint64
        xoshiro256** states (the generators, exactly).
    sweep : int
        Sweeps done.
    aux : dict of str -> ndarray
        Sampler-specific arrays (replica exchange bookkeeping).
    """

    w: np.ndarray
    fields: np.ndarray
    energy: np.ndarray
    beta: np.ndarray
    rng_state: np.ndarray
    sweep: int
    aux: dict


class Info(NamedTuple):
    """What one step did: per-chain acceptance and sampler-specific statistics."""

    acceptance: np.ndarray
    extra: dict


@dataclass
class RunResult:
    """Result of :func:`run`.

    Attributes
    ----------
    final_state : State
        ``final_state.w`` (C, N) and ``final_state.energy`` (C,) one entry per chain.
        For replica exchange the rows are kernel chains (row ``c * K + r`` = replica r of
        chain c, at temperature ``aux["slot_of"][c, r]``); traces are in temperature order.
    traces : dict of str -> ndarray
        ``"sweep"`` (T,), ``"energy"`` (T, C), ``"acceptance"`` (T, C) (fraction of accepted
        proposals in the interval before each record), ``"beta"`` (T, C), and the
        sampler's ``extra_traces`` (T, C) (e.g. ``"free_entropy"``, ``"gamma"`` for EdMC).
    samples : ndarray (T, C, N) int8 or None
        Recorded configurations (None with ``keep_samples=False``).
    acceptance : ndarray (C,)
        Accepted fraction over the whole call.
    seed : dict
        Root SeedSequence entropy and spawn key (``_rng.seed_record``).
    sampler : object
        The sampler.
    stats : dict
        Sampler-specific summaries (swap acceptance, round trips, ...).
    seconds : float
        Wall time of the sampling loop.
    run_name : str or None
        Name of the run in the store, if any.
    """

    final_state: State
    traces: dict
    samples: np.ndarray | None
    acceptance: np.ndarray
    seed: dict
    sampler: Any
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0
    run_name: str | None = None


# ---------------------------------------------------------------------------- samplers
@dataclass(frozen=True)
class Sampler:
    """Base class: a frozen dataclass of hyper-parameters (subclasses add fields).

    Subclasses define ``name`` and :meth:`betas`; replica-exchange samplers also
    ``n_temperatures`` and :meth:`exchange`.
    """

    name = "sampler"
    # Extra per-record traces, name -> description: each a (T, C) float64 trace in
    # RunResult.traces and in the store, filled by record_traces() at every record.
    extra_traces: ClassVar[dict] = {}

    @property
    def energy_kind(self) -> str:
        return getattr(self, "energy", "errors")

    @property
    def n_temperatures(self) -> int:
        return 1

    def default_sweeps(self) -> int | None:
        return None

    def params(self) -> dict:
        """JSON-able hyper-parameters (arrays become lists)."""
        out = {}
        for k, v in asdict(self).items():
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def betas(self, sweep0: int, n: int) -> np.ndarray:
        """Inverse temperature per temperature slot for sweeps ``sweep0 .. sweep0+n-1``: (K, n)."""
        raise NotImplementedError

    def check(self, instance, n_sweeps):
        """Validate against an instance / run length; raise ValueError."""

    def block_boundaries(self, sweep0: int, sweep1: int) -> list:
        """Extra sweep indices in (sweep0, sweep1) where a block must end (swaps)."""
        return []

    def exchange(self, engine, aux, sweep):  # pragma: no cover - default: nothing
        """Hook called at block ends; may update ``aux``."""

    def sweep_block(self, engine, aux, betas, sweep0):
        """Run the sweeps of one block (``betas`` (C, S), the first being ``sweep0``)."""
        engine.sweep(betas)

    def attach(self, engine, aux):
        """Hook called whenever an engine is built or restored (set external fields)."""

    def make_engine(self, instance, w, rng_state):
        """The workspace the sweeps update (default: the Metropolis :class:`Engine`).

        A sampler with its own moves may return any object with ``C``, ``w``,
        ``energies()``, ``fields()``, ``rng_state()`` and ``take_counters()``."""
        return Engine(instance, w, rng_state, self.energy_kind)

    def record_traces(self, engine, aux) -> dict:
        """Values of the :attr:`extra_traces` at a record: name -> (C,) array (kernel-chain order)."""
        return {}

    def init_aux(self, n_chains, root) -> dict:
        return {}

    def prepare(self, instance, engine, aux):
        """Hook called once after the initial state is built (e.g. find solutions); may
        return a new engine."""

    # --------------------------------------------------------------- functional interface
    def init(self, instance, n_chains=1, *, rng=None, init=None) -> State:
        """Initial state for ``n_chains`` chains (uniformly random configurations unless
        ``init`` (C, N) or (N,) is given)."""
        root = _rng.as_seed_sequence(rng)
        eng, aux = _build(self, instance, n_chains, root, init)
        return _state_of(eng, aux, 0, self)

    def step(self, instance, state: State, n_sweeps: int = 1) -> tuple[State, Info]:
        """Advance a copy of ``state`` by ``n_sweeps`` sweeps; returns (new state, info)."""
        check_run_args(n_sweeps, 1)
        _check_state(self, instance, state)
        eng = self.make_engine(instance, np.array(state.w), np.array(state.rng_state))
        aux = {k: np.array(v) for k, v in state.aux.items()}
        self.attach(eng, aux)
        sweep = state.sweep
        _advance(self, eng, aux, sweep, sweep + int(n_sweeps))
        acc, prop = eng.take_counters()
        new = _state_of(eng, aux, sweep + int(n_sweeps), self)
        return new, Info(acceptance=acc / np.maximum(prop, 1), extra=self.summary(aux))

    def summary(self, aux) -> dict:
        return {}


# ------------------------------------------------------------------------------- helpers
def _check_state(sampler, instance, state):
    """A state made by this sampler's :meth:`~Sampler.init` for this instance (same N)."""
    if not isinstance(instance, PerceptronInstance):
        raise ValueError(f"instance must be a PerceptronInstance, got {type(instance).__name__}")
    w, rs = np.asarray(state.w), np.asarray(state.rng_state)
    if w.ndim != 2 or w.shape[1] != instance.n or rs.shape != (w.shape[0], 4):
        raise ValueError(f"state does not belong to this instance: weights of shape {w.shape} and generator states "
                         f"of shape {rs.shape}, expected (C, {instance.n}) and (C, 4)")


def _validate_init(init, C, n, K=1):
    w = np.asarray(init)
    if w.ndim == 1:
        w = np.broadcast_to(w, (C, w.shape[0]))
    if w.shape != (C, n):
        rows = "n_chains" if K == 1 else f"n_chains * K (K = {K}; row c * K + k is chain c, member k)"
        raise ValueError(f"init must have shape (N,) or ({rows}, N) = ({C}, {n}), got {np.shape(init)}")
    if not np.all((w == 1) | (w == -1)):
        raise ValueError("init must contain only +-1 entries")
    return np.ascontiguousarray(w, dtype=np.int8)


def chain_rng_states(root, n_chains, K):
    """Generator states (n_chains * K, 4): spawn key root + (c,) or root + (c, r)."""
    if K == 1:
        return _rng.chain_states(root, n_chains)
    out = np.empty((n_chains * K, 4), dtype=np.uint64)
    for c in range(n_chains):
        out[c * K : (c + 1) * K] = _rng.chain_states(_rng.chain_seed(root, c), K)
    return out


def _build(sampler, instance, n_chains, root, init):
    if not isinstance(instance, PerceptronInstance):
        raise ValueError(f"instance must be a PerceptronInstance, got {type(instance).__name__}")
    if isinstance(n_chains, bool) or not isinstance(n_chains, (int, np.integer)) or n_chains < 1:
        raise ValueError(f"n_chains={n_chains!r} must be an integer >= 1")
    K = sampler.n_temperatures
    C = int(n_chains) * K
    states = chain_rng_states(root, int(n_chains), K)
    if init is None:
        # Initial configurations: a PCG64 seeded (through SeedSequence hashing) by the
        # chain's kernel state words, so they depend on the chain's stream only.
        w = np.empty((C, instance.n), dtype=np.int8)
        for j in range(C):
            g = np.random.Generator(np.random.PCG64(states[j].tolist()))
            w[j] = 2 * g.integers(0, 2, size=instance.n, dtype=np.int8) - 1
    else:
        w = _validate_init(init, C, instance.n, K)
    eng = sampler.make_engine(instance, w, states)
    aux = sampler.init_aux(int(n_chains), root)
    aux["beta_now"] = np.array(_chain_betas(sampler, aux, C, 0, 1)[:, 0])
    eng = sampler.prepare(instance, eng, aux) or eng
    sampler.attach(eng, aux)
    return eng, aux


def _state_of(eng, aux, sweep, sampler):
    return State(
        w=eng.w.copy(),
        fields=np.array(eng.fields()),
        energy=eng.energies(),
        beta=np.array(aux["beta_now"], dtype=np.float64),
        rng_state=eng.rng_state(),
        sweep=int(sweep),
        aux={k: np.array(v) for k, v in aux.items()},
    )


def _chain_betas(sampler, aux, C, sweep0, n):
    """(C, n) betas of each kernel chain: the slot ladder mapped through ``slot_of``."""
    b = sampler.betas(sweep0, n)
    K = b.shape[0]
    if K == 1:
        return np.repeat(b, C, axis=0)  # a fresh writable array: kernels see one signature
    slot = aux["slot_of"].reshape(-1)
    return b[slot]


def _advance(sampler, eng, aux, sweep0, sweep1):
    """Sweeps sweep0..sweep1-1, split at the sampler's block boundaries."""
    cuts = [s for s in sampler.block_boundaries(sweep0, sweep1) if sweep0 < s < sweep1]
    edges = [sweep0, *cuts, sweep1]
    for a, b in zip(edges[:-1], edges[1:]):
        betas = _chain_betas(sampler, aux, eng.C, a, b - a)
        sampler.sweep_block(eng, aux, betas, a)
        aux["beta_now"] = np.array(betas[:, -1])
        sampler.exchange(eng, aux, b)


def _record_order(sampler, aux, C):
    """Kernel-chain index for each trace column (temperature order for K > 1)."""
    if sampler.n_temperatures == 1:
        return np.arange(C)
    chain_at = aux["chain_at"]
    M, K = chain_at.shape
    return (np.arange(M)[:, None] * K + chain_at).reshape(-1)


def _progress_bar(progress, total):
    import sys

    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sweep", leave=False)


def check_run_args(n_sweeps, record_every):
    for name, v in (("n_sweeps", n_sweeps), ("record_every", record_every)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}={v!r} must be an integer >= 1")
    if n_sweeps % record_every:
        raise ValueError(f"n_sweeps={n_sweeps} must be a multiple of record_every={record_every}")


def check_checkpoint_every(v):
    """``None``, an integer >= 1 (records) or a finite float > 0 (seconds); returns it as int or float."""
    if v is None:
        return None
    ok = not isinstance(v, bool) and isinstance(v, (int, np.integer, float, np.floating)) and np.isfinite(v) and v > 0
    if not ok or (isinstance(v, (int, np.integer)) and v < 1):
        raise ValueError(f"checkpoint_every={v!r} must be an integer >= 1 (records) or a float > 0 (seconds)")
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


def run(
    sampler,
    instance,
    *,
    n_chains: int = 1,
    n_sweeps: int | None = None,
    record_every: int = 1,
    init=None,
    rng=None,
    store=None,
    run_name: str | None = None,
    callback: Callable | None = None,
    progress: bool | None = None,
    keep_samples: bool = True,
    checkpoint_every: float | int | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Run a sampler on an instance.

    Parameters
    ----------
    sampler : Sampler
        :class:`Metropolis`, :class:`SimulatedAnnealing`, :class:`ParallelTempering`,
        :class:`SolutionWalk`, ...
    instance : PerceptronInstance
    n_chains : int
        Independent chains (each with K temperatures for replica exchange).
    n_sweeps : int, optional
        Sweeps (N proposals each); defaults to the schedule length for annealing.
    record_every : int
        Record every this many sweeps; ``n_sweeps`` must be a multiple of it.
    init : (N,) or (C, N) int8, optional
        Initial configurations (default: uniform random, from each chain's stream). With K
        temperatures or replicas per chain (tempering, replicated samplers) C = n_chains * K
        and row ``c * K + k`` is member k of chain c.
    rng : None, int, SeedSequence or Generator
        Root seed (SPEC 7); chain streams are spawned from it (module docstring).
    store : str, path or Store, optional
        HDF5 sample store holding the instance; the run is written to ``/runs/<run_name>``
        as it goes, with checkpoints for :func:`resume`.
    run_name : str, optional
        Defaults to the sampler's name (refused if it exists, unless ``overwrite``).
    callback : callable(State, Info) -> bool or None, optional
        Called at every record; returning True stops the run early.
    progress : bool, optional
        tqdm bar (default: only when stderr is a terminal).
    keep_samples : bool
        Keep recorded configurations in memory (``RunResult.samples``).
    checkpoint_every : int or float, optional
        Checkpoint every this many records (int) or seconds (float, default 5.0).
    overwrite : bool
        Replace an existing run of the same name.

    Returns
    -------
    RunResult
    """
    if n_sweeps is None:
        n_sweeps = sampler.default_sweeps()
        if n_sweeps is None:
            raise ValueError("n_sweeps is required for this sampler")
    check_run_args(n_sweeps, record_every)
    sampler.check(instance, n_sweeps)
    checkpoint_every = check_checkpoint_every(checkpoint_every)
    root = _rng.as_seed_sequence(rng)
    writer = None
    name = run_name or sampler.name
    if store is not None:
        from ..store import check_run_writable

        # Refuse a bad store or an existing run before the (possibly long) set-up, but
        # write nothing until the set-up succeeded: a failed start leaves the file as it was.
        check_run_writable(store, name, instance, overwrite=overwrite)
    eng, aux = _build(sampler, instance, n_chains, root, init)
    if store is not None:
        from ..store import RunSpec, open_run_writer

        spec = RunSpec(
            sampler=sampler.name, params=sampler.params(), n_chains=int(n_chains), n_sweeps=int(n_sweeps),
            record_every=int(record_every), seed=_rng.seed_record(root),
            n_temperatures=sampler.n_temperatures, energy=sampler.energy_kind,
            extra_traces=dict(sampler.extra_traces),
        )
        writer = open_run_writer(store, name, spec, instance, overwrite=overwrite)
    try:
        if writer is not None:
            writer.checkpoint(_checkpoint_arrays(eng, aux), 0)
        return _drive(sampler, instance, eng, aux, 0, n_sweeps, record_every, root, writer,
                      callback, progress, keep_samples, checkpoint_every)
    finally:
        if writer is not None:
            writer.close()


def _drive(sampler, instance, eng, aux, sweep, n_sweeps, record_every, root, writer,
           callback, progress, keep_samples, checkpoint_every):
    C = eng.C
    n_rec = (n_sweeps - sweep) // record_every
    T_sweep = np.empty(n_rec, dtype=np.int64)
    T_energy = np.empty((n_rec, C))
    T_acc = np.empty((n_rec, C))
    T_beta = np.empty((n_rec, C))
    T_extra = {k: np.empty((n_rec, C)) for k in sampler.extra_traces}
    samples = np.empty((n_rec, C, instance.n), dtype=np.int8) if keep_samples else None
    acc_total = np.zeros(C, dtype=np.int64)
    prop_total = np.zeros(C, dtype=np.int64)
    if checkpoint_every is None:
        checkpoint_every = 5.0
    last_ckpt = time.monotonic()
    bar = _progress_bar(progress, n_sweeps - sweep)
    t0 = time.perf_counter()
    r = 0
    try:
        while sweep < n_sweeps:
            nxt = sweep + record_every
            _advance(sampler, eng, aux, sweep, nxt)
            sweep = nxt
            acc, prop = eng.take_counters()
            acc_total += acc
            prop_total += prop
            order = _record_order(sampler, aux, C)
            energies = eng.energies()[order]
            accf = (acc / np.maximum(prop, 1))[order]
            betas = aux["beta_now"][order]
            T_sweep[r] = sweep
            T_energy[r] = energies
            T_acc[r] = accf
            T_beta[r] = betas
            extra = {k: np.asarray(v, dtype=np.float64)[order] for k, v in sampler.record_traces(eng, aux).items()}
            for k in T_extra:
                T_extra[k][r] = extra[k]
            w_rec = eng.w[order]
            if samples is not None:
                samples[r] = w_rec
            r += 1
            if writer is not None:
                writer.append(w_rec, energies, accf, betas, sweep, extra)
                due = (r % checkpoint_every == 0) if isinstance(checkpoint_every, int) else (
                    time.monotonic() - last_ckpt >= checkpoint_every)
                if due or sweep == n_sweeps:
                    writer.checkpoint(_checkpoint_arrays(eng, aux), sweep)
                    last_ckpt = time.monotonic()
            if bar is not None:
                bar.update(record_every)
            if callback is not None:
                st = _state_of(eng, aux, sweep, sampler)
                if callback(st, Info(acceptance=accf, extra=sampler.summary(aux))):
                    if writer is not None:
                        writer.checkpoint(_checkpoint_arrays(eng, aux), sweep)
                    break
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    traces = {"sweep": T_sweep[:r], "energy": T_energy[:r], "acceptance": T_acc[:r], "beta": T_beta[:r]}
    traces.update({k: v[:r] for k, v in T_extra.items()})
    return RunResult(
        final_state=_state_of(eng, aux, sweep, sampler),
        traces=traces,
        samples=None if samples is None else samples[:r],
        acceptance=acc_total / np.maximum(prop_total, 1),
        seed=_rng.seed_record(root),
        sampler=sampler,
        stats=sampler.summary(aux),
        seconds=seconds,
        run_name=None if writer is None else writer.name,
    )


def _checkpoint_arrays(eng, aux):
    out = {"w": eng.w.copy(), "rng_state": eng.rng_state()}
    for k, v in aux.items():
        out["aux_" + k] = np.array(v)
    return out


def resume(store, run_name: str, *, n_sweeps: int | None = None, callback=None, progress=None,
           keep_samples: bool = True, checkpoint_every=None) -> RunResult:
    """Continue a stored run from its last checkpoint.

    The samples written after that checkpoint (by a process that crashed) are discarded and
    produced again, so the finished run holds exactly the samples an uninterrupted run
    would have written. ``n_sweeps`` may extend a finished run (same record interval).

    Returns
    -------
    RunResult
        Traces and samples of the resumed part only; read the whole run from the store.
    """
    from ..store import open_run_resumer
    from . import sampler_from_params

    checkpoint_every = check_checkpoint_every(checkpoint_every)
    rs = open_run_resumer(store, run_name)
    try:
        spec, inst, ckpt, sweep = rs.spec, rs.instance, rs.checkpoint, rs.sweep
        sampler = sampler_from_params(spec.sampler, spec.params)
        total = spec.n_sweeps if n_sweeps is None else int(n_sweeps)
        check_run_args(total, spec.record_every)
        if total < sweep:
            raise ValueError(f"n_sweeps={total} is less than the {sweep} sweeps already done")
        sampler.check(inst, total)
        if total != spec.n_sweeps:
            rs.extend(total)
        root = _rng.seed_from_record(spec.seed)
        eng = sampler.make_engine(inst, ckpt["w"], ckpt["rng_state"])
        aux = {k[4:]: v for k, v in ckpt.items() if k.startswith("aux_")}
        sampler.attach(eng, aux)
        return _drive(sampler, inst, eng, aux, sweep, total, spec.record_every, root, rs.writer,
                      callback, progress, keep_samples, checkpoint_every)
    finally:
        rs.close()
