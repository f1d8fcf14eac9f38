"""Small shared helpers of the analysis modules (validation, lazy theory access)."""

from __future__ import annotations

import importlib

import numpy as np


def check_configs(w, n: int | None = None, name: str = "w") -> np.ndarray:
    """Validate +-1 configurations of shape (..., N); returns int8."""
    a = np.asarray(w)
    if a.ndim < 1 or a.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (..., N), got shape {a.shape}")
    if n is not None and a.shape[-1] != n:
        raise ValueError(f"{name} must have shape (..., N) with N = {n}, got shape {a.shape}")
    if a.size and not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must have entries +-1 only")
    return a.astype(np.int8, copy=False)


def check_reference(reference, n: int) -> np.ndarray:
    """Validate a reference configuration of shape (N,)."""
    ref = np.asarray(reference)
    if ref.shape != (n,):
        raise ValueError(f"reference must have shape (N,) = ({n},), got shape {ref.shape}")
    return check_configs(ref, n, "reference")


def theory(name: str):
    """A function of :mod:`spinglass_nets.theory`, imported lazily.

    Falls back to the sub-modules while the package's ``__init__`` re-exports are missing.
    """
    try:
        mod = importlib.import_module("spinglass_nets.theory")
        return getattr(mod, name)
    except (ImportError, AttributeError):
        pass
    for sub in ("rs", "local_entropy", "symmetric", "teacher"):
        try:
            mod = importlib.import_module(f"spinglass_nets.theory.{sub}")
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise ImportError(f"spinglass_nets.theory has no {name!r}")
