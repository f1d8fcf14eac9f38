"""Analysis of samples: pure functions on arrays (no file access; see :mod:`spinglass_nets.store`).

- :func:`margins`: stability histograms against the RS law (Gardner and Derrida 1988).
- :func:`overlaps`: overlap distribution P(q) between independent chains.
- :func:`density_profile`: Hamming distances from a reference to sampled configurations.
- :func:`local_entropy`: ``S(d)`` around a reference, exact or Monte Carlo (coupling
  ladder + multi-histogram reweighting), against the Franz-Parisi prediction.
- :func:`flatness`: training error after random flips of a reference (local energy).
- :func:`autocorrelation_time`, :func:`effective_sample_size`, :func:`binning_error`:
  chain statistics behind every error bar.

Every estimate comes with ``.error``; curves in distance carry ``.d`` (fraction of N).
"""

from .flatness import FlatnessResult, flatness
from .local_entropy import LocalEntropyResult, default_lambdas, local_entropy, wham_log_counts
from .margins import MarginsResult, margins
from .overlaps import DensityProfileResult, OverlapsResult, density_profile, overlaps
from .stats import (
    autocorrelation_function,
    autocorrelation_time,
    binning_error,
    chain_mean_error,
    effective_sample_size,
)

__all__ = [
    "DensityProfileResult", "FlatnessResult", "LocalEntropyResult", "MarginsResult", "OverlapsResult",
    "autocorrelation_function", "autocorrelation_time", "binning_error", "chain_mean_error",
    "default_lambdas", "density_profile", "effective_sample_size", "flatness", "local_entropy",
    "margins", "overlaps", "wham_log_counts",
]
