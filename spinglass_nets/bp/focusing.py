"""Solvers built on BP: focusing BP (with protocols) and reinforced BP.

Both turn BP into a solver by adding, at every iteration, an external field on each weight
computed from BP's own fields, which grows until the marginals polarise on one configuration;
the signs of the fields are checked against every constraint after each iteration (for AMP
the check is fused into the forward pass over the patterns, so it is free).
"""

from __future__ import annotations

import math

import numpy as np

from ..solvers.result import SolveResult, check_clock, check_time_limit, finish
from . import _kernels as K
from .core import _FastState, _State, _check_float, _check_int, check_instance, log_eps_of, resolve_method
from .protocols import as_protocol, standard_reinforcement


def _errors_of_signs(state, instance, thr):
    """Violated constraints of ``sign(h)`` for the current state (edge method: a mat-vec)."""
    s = np.where(state.hext + state.hpat >= 0, 1.0, -1.0)
    hs = state.c @ s
    return int(np.count_nonzero(hs < thr)), s


def make_state(instance, method, rng, fused, parallel=False):
    """BP messages for a solver: the fused single-pass kernel (:class:`~.core._FastState`)
    for AMP on +-1 patterns when ``fused``, else the float64 reference (:class:`~.core._State`)."""
    if fused and method == "amp" and instance.patterns == "binary":
        return _FastState(instance, rng, parallel=parallel)
    return _State(instance, method, rng)


def _threshold(instance, state):
    # hs are raw fields y xi . s: integers for +-1 patterns (compared with h_min exactly),
    # floats for Gaussian ones (compared with kappa sqrt N).
    if instance.patterns == "binary":
        return float(instance.h_min)
    return instance.kappa * math.sqrt(instance.n)


_COMPILED = set()


def _compile_first(instance, method, fused, parallel):
    """Run one iteration on a tiny instance of the same kind, once per process and kind, so
    that Numba's one-off compilation (tens of seconds with the oldest supported Numba and a
    cold cache; milliseconds once cached) is not charged to a run's ``time_limit``."""
    key = (method, bool(fused), bool(parallel), instance.patterns)
    if key in _COMPILED:
        return
    from ..models import make_perceptron

    tiny = make_perceptron(65, 0.3, patterns=instance.patterns, rng=0)
    state = make_state(tiny, method, 0, fused, parallel)
    K.focusing_fields(state.hpat, 1.0, 2.0, state.hext)
    _iterate_checked(state, tiny, _threshold(tiny, state), log_eps_of(math.inf), 0.5, _Tracker(tiny.n), 0)
    _COMPILED.add(key)


class _Tracker:
    """Keeps the configuration with the fewest errors and the per-iteration traces."""

    def __init__(self, n):
        self.best_w = np.ones(n, dtype=np.int8)
        self.best_e = None
        self.errors, self.delta, self.step = [], [], []

    def record(self, e, s, delta, k):
        """``s``: the configuration (array) or a callable returning it (called only when kept)."""
        self.errors.append(e)
        self.delta.append(delta)
        self.step.append(k)
        if self.best_e is None or e <= self.best_e:
            self.best_e = e
            self.best_w = np.asarray(s() if callable(s) else s).astype(np.int8)

    def history(self):
        return {"errors": np.asarray(self.errors, dtype=np.int64), "delta": np.asarray(self.delta),
                "step": np.asarray(self.step, dtype=np.int64)}


def _iterate_checked(state, instance, thr, log_eps, damping, tracker, k):
    """One BP iteration followed by the sign check; returns (delta, errors)."""
    if isinstance(state, _FastState):
        d, e = state.step(log_eps, damping)
        tracker.record(e, state.signs, d, k)
        return d, e
    if state.method == "amp":
        s = np.where(state.hext + state.hpat >= 0, 1.0, -1.0)
        d = state.step(log_eps, damping)
        # state.hs holds the fields of exactly this s (computed in the forward pass)
        e = int(np.count_nonzero(state.hs < thr))
    else:
        d = state.step(log_eps, damping)
        e, s = _errors_of_signs(state, instance, thr)
    tracker.record(e, s, d, k)
    return d, e


def _start(instance, method, time_limit, rng, fused, parallel, now):
    """Common start of the BP solvers: resolve the method, compile (before the clock), start
    the clock ``now`` and the messages. Returns (method, t0, deadline, state, threshold,
    tracker)."""
    method = resolve_method(method, instance)
    _compile_first(instance, method, fused, parallel)
    t0 = now()
    deadline = None if time_limit is None else t0 + time_limit
    state = make_state(instance, method, rng, fused, parallel)
    return method, t0, deadline, state, _threshold(instance, state), _Tracker(instance.n)


def focusing_bp(instance, *, protocol=None, max_iter=100, tol=1e-3, damping=0.8, method="auto",
                time_limit=None, clock="wall", rng=None, fused=True, parallel=False) -> SolveResult:
    """Focusing BP (Baldassi et al., PNAS 113, E7655 (2016), SI Eqs. for fBP).

    BP on y replicas coupled to a centre reduces, for symmetric replicas, to BP on one copy
    with the extra field ``atanh(tanh(gamma) tanh((y-1) atanh(tanh(gamma) tanh(h_i))))``
    (:func:`~spinglass_nets.bp._kernels.focusing_field`), ``h_i`` the field from the patterns.
    For each protocol step BP is iterated until no marginal moves by more than ``tol`` (at
    most ``max_iter`` iterations); the signs of the fields are tested after every iteration and
    the run stops at the first solution.

    Parameters
    ----------
    instance : PerceptronInstance
        ``kind="perceptron"``, any kappa, labels and pattern kind.
    protocol : Protocol, dict or (T, 3) array, optional
        (gamma, y, beta) per step; default ``standard_reinforcement(step=0.01, rho_max=0.99)``.
    max_iter : int
        Most BP iterations per protocol step.
    tol : float
        Convergence threshold of a step (largest change of a marginal): the protocol moves on
        as soon as no marginal moves by more than ``tol``. ``tol=1e-2`` is the fast option: it
        needs ~2.5-4x fewer iterations on the instances it solves and solved the same ones at
        N = 4001 (alpha = 0.7, 0.75), but 6/20 against 8/20 at N = 1001, alpha = 0.75
        (docs_fbp.md); the default 1e-3 keeps the larger reach.
    damping : float in [0, 1)
        Weight of the old message. The default 0.8 keeps AMP stable up to y ~ 100; with 0.5
        the relaxed messages oscillate once y >~ 2 (measured at N = 1001, alpha = 0.5).
    method : {"auto", "edge", "amp"}
        Message representation (see :mod:`spinglass_nets.bp.core`).
    time_limit : float, optional
        Seconds of solving; the one-off Numba compilation of the first call in a process is
        done before the clock starts.
    clock : {"wall", "cpu"}
        What ``time_limit`` and ``seconds`` count: wall-clock seconds or CPU seconds of the
        process (:func:`spinglass_nets.solvers.result.check_clock`).
    rng : None, int, SeedSequence or Generator
        Seeds the initial messages.
    fused : bool
        AMP on +-1 patterns only: iterate with the fused single-pass kernel (bit-packed
        patterns, float32 inner products, exact integer solution check;
        :mod:`spinglass_nets.bp._fast`), 4-5x faster per iteration than the float64
        two-pass reference (``fused=False``), which it matches to ~1e-6 per field.
    parallel : bool
        Fused kernel only: spread the pattern blocks over Numba's threads (``prange``; the
        results are bit-identical to one thread). Off by default: on a shared 2-core machine
        the per-iteration barrier costs more than it saves (measured: docs_fbp.md).

    Returns
    -------
    SolveResult
        ``history`` has ``errors``, ``delta`` and ``step`` (protocol index) per iteration.
    """
    check_instance(instance)
    protocol = standard_reinforcement() if protocol is None else as_protocol(protocol)
    max_iter = _check_int("max_iter", max_iter, 1)
    tol = _check_float("tol", tol, 0.0, math.inf, lo_open=True)
    damping = _check_float("damping", damping, 0.0, 1.0, hi_open=True)
    time_limit = check_time_limit(time_limit)
    now = check_clock(clock)
    method, t0, deadline, state, thr, tracker = _start(instance, method, time_limit, rng, fused, parallel, now)
    stop = "protocol_end"
    it = 0
    for k, (gamma, y, beta) in enumerate(protocol):
        log_eps = log_eps_of(beta)
        tg = 1.0 if math.isinf(gamma) else math.tanh(gamma)
        for _ in range(max_iter):
            K.focusing_fields(state.hpat, tg, y, state.hext)
            d, e = _iterate_checked(state, instance, thr, log_eps, damping, tracker, k)
            it += 1
            if e == 0:
                stop = "solved"
                break
            if deadline is not None and now() > deadline:
                stop = "time_limit"
                break
            if d < tol:
                break
        if stop != "protocol_end":
            break
    params = {"protocol": protocol.to_dict(), "max_iter": max_iter, "tol": tol, "damping": damping,
              "method": method, "time_limit": time_limit, "clock": clock, "fused": isinstance(state, _FastState),
              "parallel": bool(parallel)}
    return finish(instance, tracker.best_w, now() - t0, it, tracker.history(), "fbp", params, stop)


def reinforced_bp(instance, *, rate=0.01, rho0=0.0, max_iter=2000, damping=0.5, beta=math.inf,
                  method="auto", time_limit=None, clock="wall", rng=None, fused=True,
                  parallel=False) -> SolveResult:
    """Reinforced BP (Braunstein and Zecchina, PRL 96, 030201 (2006), Eq. (5), in its
    deterministic form): at iteration t each weight gets the external field
    ``rho_t * h_i(t-1)``, ``h_i(t-1)`` its previous total field (patterns + reinforcement), so
    the prior is the previous marginal raised to the power rho_t;
    ``rho_t = 1 - (1 - rho0) (1 - rate)^t`` grows to 1 and the fields polarise.

    Parameters
    ----------
    instance : PerceptronInstance
    rate : float in (0, 1)
        Speed of the reinforcement schedule (smaller: slower, reaches higher alpha).
    rho0 : float in [0, 1)
        Initial reinforcement.
    max_iter : int
        Most iterations.
    damping : float in [0, 1)
    beta : float
        Inverse temperature of the constraints (inf: hard).
    method, time_limit, clock, rng, fused, parallel
        As in :func:`focusing_bp`.

    Returns
    -------
    SolveResult
        ``history`` has ``errors``, ``delta`` and ``step`` (the iteration index) per iteration;
        ``stop="stalled"`` when the marginals froze on a configuration with errors.
    """
    check_instance(instance)
    rate = _check_float("rate", rate, 0.0, 1.0, lo_open=True, hi_open=True)
    rho0 = _check_float("rho0", rho0, 0.0, 1.0, hi_open=True)
    max_iter = _check_int("max_iter", max_iter, 1)
    damping = _check_float("damping", damping, 0.0, 1.0, hi_open=True)
    log_eps = log_eps_of(beta)
    time_limit = check_time_limit(time_limit)
    now = check_clock(clock)
    method, t0, deadline, state, thr, tracker = _start(instance, method, time_limit, rng, fused, parallel, now)
    stop = "max_iter"
    it = 0
    still = 0
    for t in range(max_iter):
        rho = 1.0 - (1.0 - rho0) * (1.0 - rate) ** t
        htot = state.hext + state.hpat
        np.clip(rho * htot, -K.U_MAX * 10, K.U_MAX * 10, out=state.hext)
        d, e = _iterate_checked(state, instance, thr, log_eps, damping, tracker, t)
        it += 1
        if e == 0:
            stop = "solved"
            break
        if deadline is not None and now() > deadline:
            stop = "time_limit"
            break
        # fully polarised on a configuration with errors: nothing will move again
        still = still + 1 if d < 1e-12 else 0
        if still >= 20:
            stop = "stalled"
            break
    params = {"rate": rate, "rho0": rho0, "max_iter": max_iter, "damping": damping, "beta": float(beta),
              "method": method, "time_limit": time_limit, "clock": clock, "fused": isinstance(state, _FastState),
              "parallel": bool(parallel)}
    return finish(instance, tracker.best_w, now() - t0, it, tracker.history(), "rbp", params, stop)
