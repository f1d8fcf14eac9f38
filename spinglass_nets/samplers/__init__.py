"""Numba-compiled Monte Carlo samplers and the driver.

>>> import spinglass_nets as sn
>>> from spinglass_nets.samplers import Metropolis, run
>>> inst = sn.make_perceptron(101, 0.5, rng=0)
>>> res = run(Metropolis(beta=2.0), inst, n_chains=4, n_sweeps=100, rng=1)
>>> res.final_state.w.shape
(4, 101)
"""

from . import schedules
from .base import Info, RunResult, Sampler, State, resume, run
from .metropolis import Metropolis, ParallelTempering, SimulatedAnnealing, SolutionWalk
from .edmc import EntropyDrivenMC
from .replicated import ReferenceTempering, ReplicatedAnnealing

SAMPLERS = {
    cls.name: cls
    for cls in (Metropolis, SimulatedAnnealing, ParallelTempering, SolutionWalk, ReplicatedAnnealing, ReferenceTempering,
                EntropyDrivenMC)
}


def sampler_from_params(name: str, params: dict):
    """Rebuild a sampler from its stored name and JSON parameters."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(sorted(SAMPLERS))}")
    return SAMPLERS[name](**params)


__all__ = [
    "EntropyDrivenMC", "Info", "Metropolis", "ParallelTempering", "ReferenceTempering", "ReplicatedAnnealing", "RunResult",
    "SAMPLERS", "Sampler", "SimulatedAnnealing",
    "SolutionWalk", "State", "resume", "run", "sampler_from_params", "schedules",
]
