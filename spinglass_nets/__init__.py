"""spinglass_nets: statistical physics of neural-network learning.

Instances of the binary perceptron family, Numba Monte Carlo samplers, exact enumeration,
HDF5 sample stores, replica-theory predictions and analysis. See README.md.
"""

from importlib.metadata import PackageNotFoundError, version

from .models import PerceptronInstance, make_perceptron, make_symmetric_perceptron

try:
    __version__ = version("spinglass_nets")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"


def __getattr__(name):
    # Lazy re-exports keep `import spinglass_nets` (and `spinglass-nets --help`) fast.
    if name == "solve":
        from ._solve import solve

        return solve
    if name == "open_store":
        from .store import open_store

        return open_store
    if name in ("samplers", "exact", "theory", "store", "analysis", "bp", "solvers"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spinglass_nets' has no attribute {name!r}")


__all__ = ["PerceptronInstance", "make_perceptron", "make_symmetric_perceptron", "open_store", "solve", "__version__"]
