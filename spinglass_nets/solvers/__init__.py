"""Online solvers for the binary perceptron (SBPI, CP+R) and the shared result type.

The message-passing solvers (focusing BP, reinforced BP) live in :mod:`spinglass_nets.bp`
and are re-exported here, so that ``spinglass_nets.solvers`` lists every solver.
"""

from .online import cpr, default_h_max, sbpi
from .result import SolveResult


def __getattr__(name):
    # bp imports solvers.result, so the BP solvers are re-exported lazily (no import cycle).
    if name in ("focusing_bp", "reinforced_bp"):
        from .. import bp

        return getattr(bp, name)
    raise AttributeError(f"module 'spinglass_nets.solvers' has no attribute {name!r}")


__all__ = ["SolveResult", "cpr", "default_h_max", "focusing_bp", "reinforced_bp", "sbpi"]
