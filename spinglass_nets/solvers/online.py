"""Online solvers with hidden integer states: SBPI and CP+R.

Each epoch presents every pattern once, in a random order drawn from the run's own
xoshiro256** stream (seeded from ``rng`` through :func:`spinglass_nets._rng.chain_states`), so
the same seed gives the same bits. The loop over epochs runs in Python (one compiled call per
epoch, O(P N) work each) so that ``time_limit`` is honoured between epochs.
"""

from __future__ import annotations

import math

import numpy as np

from .._rng import as_seed_sequence, chain_states
from . import _kernels as K
from .result import SolveResult, check_clock, check_time_limit, finish


def _check_instance(instance):
    if not hasattr(instance, "xi") or not hasattr(instance, "kind"):
        raise ValueError(f"instance must be a PerceptronInstance, got {type(instance).__name__}")
    if instance.kind != "perceptron":
        raise ValueError(f"instance.kind={instance.kind!r} is not supported; online solvers need kind='perceptron'")


def _check_int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}={value!r} must be an integer >= {lo}")
    return int(value)


def _check_prob(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a probability in [0, 1]") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name}={value!r} must be a probability in [0, 1]")
    return v


def _check_nonneg(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0")
    return v


def _setup(instance, h_max, rng):
    """Coupling matrix, threshold, initial hidden states (+-1 at random) and the kernel stream."""
    n = instance.n
    if instance.patterns == "binary":
        c = np.ascontiguousarray(instance.c(), dtype=np.int8)
        thr = float(instance.h_min)
    else:
        c = np.ascontiguousarray(instance.c(), dtype=np.float64)
        thr = instance.kappa * math.sqrt(n)
    ss = as_seed_sequence(rng)
    # Stream 0 of the run draws the initial state, stream 1 drives the kernel: fixed order.
    gen = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (0,)))
    w = (2 * gen.integers(0, 2, size=n, dtype=np.int8) - 1).astype(np.int8)
    hidden = w.astype(np.int32)
    state = chain_states(ss, 1, offset=1)[0].copy()
    order = np.empty(instance.p, dtype=np.int64)
    return c, thr, hidden, w, state, order


def _run(kernel, name, instance, param, theta_m, h_max, max_epochs, time_limit, clock, rng, params):
    _check_instance(instance)
    max_epochs = _check_int("max_epochs", max_epochs, 1)
    h_max = _check_int("h_max", h_max, 1)
    if h_max % 2 == 0:
        raise ValueError(f"h_max={h_max} must be odd (hidden states are odd integers)")
    theta_m = _check_nonneg("theta_m", theta_m)
    time_limit = check_time_limit(time_limit)
    now = check_clock(clock)
    t0 = now()
    deadline = None if time_limit is None else t0 + time_limit
    c, thr, hidden, w, state, order = _setup(instance, h_max, rng)
    binary = instance.patterns == "binary"
    errors = []
    stop = "max_epochs"
    best_w, best_e = w.copy(), None
    epochs = 0
    for _ in range(max_epochs):
        e = kernel(c, binary, thr, theta_m, param, h_max, hidden, w, order, state)
        epochs += 1
        errors.append(e)
        if e == 0 or epochs % 10 == 0:
            # an epoch without errors can still leave w inconsistent with earlier patterns
            # (R2 / reinforcement moves weights after they were checked): count them all.
            full = K.count_errors(c, binary, thr, w)
            if best_e is None or full <= best_e:
                best_e, best_w = full, w.copy()
            if full == 0:
                stop = "solved"
                break
        if deadline is not None and now() > deadline:
            stop = "time_limit"
            break
    if best_e is None or K.count_errors(c, binary, thr, w) <= best_e:
        best_w = w.copy()
    params = dict(params, theta_m=theta_m, h_max=h_max, max_epochs=max_epochs, time_limit=time_limit, clock=clock)
    return finish(instance, best_w, now() - t0, epochs, {"errors": np.asarray(errors, dtype=np.int64)},
                  name, params, stop)


def default_h_max(n: int) -> int:
    """Default bound of the hidden states: the odd integer nearest ``2 sqrt(N)`` (at least 3).

    The hidden states integrate O(sqrt N) fluctuations of the updates; this scale was the
    best of the few tried at N = 1001-4001 (see docs_solvers.md).
    """
    h = max(3, int(round(2.0 * math.sqrt(n))))
    return h if h % 2 else h + 1


def sbpi(instance, *, max_epochs=1000, theta_m=None, p_s=0.3, h_max=None, time_limit=None, clock="wall",
         rng=None) -> SolveResult:
    """SBPI: stochastic BP-inspired online learning (Baldassi, Braunstein, Brunel and
    Zecchina, PNAS 104, 11079 (2007)); kernel :func:`~._kernels.sbpi_epoch`.

    Parameters
    ----------
    instance : PerceptronInstance
        ``kind="perceptron"``; +-1 patterns (Gaussian patterns use the clipped-input variant).
    max_epochs : int
        Most passes over the patterns.
    theta_m : float, optional
        Width of the barely-correct window in field units (``y xi . w``); default 2 for +-1
        patterns (one lattice step: the lowest satisfying level) and ``sqrt(N)/4`` for Gaussian.
    p_s : float
        Probability of the consolidating update R2.
    h_max : int, optional
        Odd bound on ``|h_i|``; default :func:`default_h_max`.
    time_limit : float, optional
        Seconds (checked between epochs).
    clock : {"wall", "cpu"}
        What ``time_limit`` and ``seconds`` count: wall-clock seconds or CPU seconds of the
        process (:func:`spinglass_nets.solvers.result.check_clock`).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    SolveResult
        ``iterations`` counts epochs; ``history["errors"]`` the misclassified presentations
        per epoch.
    """
    _check_instance(instance)
    theta_m = (2.0 if instance.patterns == "binary" else math.sqrt(instance.n) / 4) if theta_m is None else theta_m
    h_max = default_h_max(instance.n) if h_max is None else h_max
    p_s = _check_prob("p_s", p_s)
    return _run(K.sbpi_epoch, "sbpi", instance, p_s, theta_m, h_max, max_epochs, time_limit, clock, rng, {"p_s": p_s})


def cpr(instance, *, max_epochs=1000, p_r=None, theta_m=None, h_max=None, time_limit=None, clock="wall",
        rng=None) -> SolveResult:
    """CP+R: clipped perceptron with stochastic reinforcement (Baldassi, J. Stat. Phys. 136,
    902 (2009)); kernel :func:`~._kernels.cpr_epoch`.

    Parameters
    ----------
    instance : PerceptronInstance
    max_epochs : int
    p_r : float, optional
        Probability, per presented pattern, of the reinforcement step ``h_i += 2 sign(h_i)``
        for all i; default ``0.15 / sqrt(N)`` (the rate must stay below O(1/sqrt N), as the
        paper's analysis shows; the constant was the best of those tried at N = 1001).
    theta_m : float, optional
        Margin window in field units: patterns with ``thr <= Delta < thr + theta_m`` are
        learned too (0: errors only). Default ``0.125 sqrt(N)`` (= 4 at N = 1001, i.e. the two
        lowest satisfying lattice levels); without it CP+R stalls with 1-3 errors at
        alpha >= 0.6 (measured at N = 1001).
    h_max : int, optional
        Odd bound on ``|h_i|``; default the odd integer nearest ``4 sqrt(N)``.
    time_limit, clock, rng
        As in :func:`sbpi`.

    Returns
    -------
    SolveResult
    """
    _check_instance(instance)
    root_n = math.sqrt(instance.n)
    p_r = 0.15 / root_n if p_r is None else p_r
    p_r = _check_prob("p_r", p_r)
    theta_m = 0.125 * root_n if theta_m is None else theta_m
    if h_max is None:
        h_max = max(3, int(round(4.0 * root_n)))
        h_max += 1 - h_max % 2
    return _run(K.cpr_epoch, "cpr", instance, p_r, theta_m, h_max, max_epochs, time_limit, clock, rng, {"p_r": p_r})
