"""Shared fixtures. Tests run with Numba caching on; a fresh clone compiles once."""

import numpy as np
import pytest

import spinglass_nets as sn


@pytest.fixture
def small_binary():
    """N = 12, alpha = 0.5, kappa = 0: small enough for enumeration (4096 configurations)."""
    return sn.make_perceptron(12, 0.5, rng=12345)


def all_configs(n):
    """Every +-1 configuration of n weights, shape (2**n, n), int8 (brute-force referee)."""
    idx = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (idx >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8)
