"""The result type every solver returns (message passing and online rules alike)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SolveResult:
    """Outcome of one solver run.

    Attributes
    ----------
    w : ndarray (N,), int8 +-1
        The best configuration found (fewest violated constraints; the last one on ties).
    solved : bool
        ``instance.is_solution(w)``, checked by the exact test of the instance (never taken
        from the solver's own bookkeeping).
    energy : int
        ``instance.energy(w)``: number of violated constraints.
    seconds : float
        Wall-clock time of the run (compilation excluded once the kernels are cached).
    iterations : int
        BP iterations (message passing) or epochs (online rules).
    history : dict of str -> ndarray
        Per-iteration / per-epoch traces (e.g. ``"errors"``, ``"delta"``, ``"step"``).
    method : str
    params : dict
        The hyper-parameters the run used (JSON-able).
    stop : str
        Why it stopped: ``"solved"``, ``"time_limit"``, ``"max_iter"``/``"max_epochs"`` or
        ``"protocol_end"``.
    """

    w: np.ndarray
    solved: bool
    energy: int
    seconds: float
    iterations: int
    history: dict = field(default_factory=dict)
    method: str = ""
    params: dict = field(default_factory=dict)
    stop: str = ""

    def __repr__(self):
        return (f"SolveResult(method={self.method!r}, solved={self.solved}, energy={self.energy}, "
                f"iterations={self.iterations}, seconds={self.seconds:.3g}, stop={self.stop!r})")


def finish(instance, w, t_seconds, iterations, history, method, params, stop) -> SolveResult:
    """Verify ``w`` with the instance's exact test and pack a :class:`SolveResult`."""
    w = np.ascontiguousarray(w, dtype=np.int8)
    solved = bool(instance.is_solution(w))
    energy = int(instance.energy(w))
    if solved and stop != "solved":
        stop = "solved"
    if not solved and stop == "solved":  # the fast in-kernel check disagreed with the exact one
        stop = "unverified"
    hist = {k: np.asarray(v) for k, v in history.items()}
    return SolveResult(w=w, solved=solved, energy=energy, seconds=float(t_seconds), iterations=int(iterations),
                       history=hist, method=method, params=params, stop=stop)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def check_clock(clock):
    """The timer a solver budgets ``time_limit`` and reports ``seconds`` with: ``"wall"``
    (``time.perf_counter``, the default) or ``"cpu"`` (``time.process_time``: CPU seconds of
    the whole process, all its threads; the fair budget on a shared machine)."""
    if not isinstance(clock, str) or clock not in CLOCKS:
        raise ValueError(f"clock={clock!r} is not allowed; choose 'wall' or 'cpu'")
    return CLOCKS[clock]


def check_time_limit(time_limit):
    """``None`` or a positive number of seconds."""
    if time_limit is None:
        return None
    try:
        t = float(time_limit)
    except (TypeError, ValueError):
        raise ValueError(f"time_limit={time_limit!r} must be None or a number of seconds > 0") from None
    if not t > 0 or math.isnan(t):
        raise ValueError(f"time_limit={time_limit!r} must be None or a number of seconds > 0")
    return t
