"""Franz-Parisi local entropy: limits it must meet, internal consistency, bad input."""

import math

import numpy as np
import pytest

from spinglass_nets import theory as th
from spinglass_nets.theory._special import SADDLE_TOL

ALPHA = 0.5


@pytest.fixture(scope="module")
def typical():
    q0 = th.rs_entropy(ALPHA).q
    d_eq = 0.5 * (1 - q0)
    d = np.array([0.05, 0.2, d_eq - 0.02, d_eq, d_eq + 0.02, 0.45])
    return th.local_entropy(d, ALPHA, kappa=0.0), d_eq


@pytest.fixture(scope="module")
def robust():
    return th.local_entropy(np.array([0.006, 0.02, 0.1, 0.25, 0.2989527163593868]), ALPHA,
                            kappa=0.0, kappa_ref=0.3)


def test_typical_meets_rs_at_equilibrium_distance(typical):
    r, d_eq = typical
    s_rs = th.rs_entropy(ALPHA).entropy
    assert r.d_max == pytest.approx(d_eq, abs=1e-15)
    assert np.all(r.converged) and np.all(r.residual < SADDLE_TOL)
    assert r.entropy[3] == pytest.approx(s_rs, abs=1e-10)
    # The equilibrium distance is the maximum of the curve ...
    assert np.all(r.entropy[[0, 1, 2, 4, 5]] < s_rs)
    # ... and the curve is smooth there: nearly symmetric (O(delta^3) against O(delta^2)).
    drop_lo, drop_hi = s_rs - r.entropy[2], s_rs - r.entropy[4]
    assert abs(drop_lo - drop_hi) < 0.2 * drop_lo
    assert np.all(r.entropy <= th.binary_entropy(r.d) + 1e-12)


def test_robust_reference_peak_and_small_d(robust):
    s_rs = th.rs_entropy(ALPHA).entropy
    assert np.all(robust.converged)
    assert robust.entropy_max == pytest.approx(s_rs, abs=1e-14)
    # At the peak p = t, p^ = t^: the Franz-Parisi formula must reduce to s_RS(alpha, 0).
    assert robust.entropy[-1] == pytest.approx(s_rs, abs=1e-9)
    assert abs(robust.dS_dd[-1]) < 1e-8
    h2 = th.binary_entropy(robust.d)
    assert np.all(robust.entropy <= h2 + 1e-12)
    # Dense region: S(d) hugs H2(d) at small d (around a typical reference S is only
    # ~0.11 H2(d) at d = 0.01, alpha = 0.5).
    assert robust.entropy[0] / h2[0] > 0.95
    assert np.all(np.diff(robust.entropy) > 0)  # monotone at alpha = 0.5


def test_slope_matches_finite_difference():
    d, h = 0.1, 1e-4
    r = th.local_entropy(np.array([d - 2 * h, d - h, d, d + h, d + 2 * h]), ALPHA, 0.0, 0.3)
    s = r.entropy
    fd = (-s[4] + 8 * s[3] - 8 * s[1] + s[0]) / (12 * h)
    # Each S carries a saddle residual < 1e-10 (second order in S) plus quadrature noise
    # ~1e-12; the five-point stencil divides it by ~h.
    assert fd == pytest.approx(r.dS_dd[2], abs=1e-7)


def test_d_zero_is_the_reference_itself():
    r = th.local_entropy(0.0, ALPHA, 0.0, 0.3)
    assert r.entropy == 0.0 and r.q == 1.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(d=0.6), "d=0.6"),
    (dict(d=-0.01), "d=-0.01"),
    (dict(d=0.1, kappa_ref=-0.2), "kappa_ref=-0.2"),
    (dict(d=0.1, kappa_ref=1.5), "kappa_ref=1.5"),
    (dict(d=0.1, kappa=math.inf), "kappa=inf"),
    (dict(d=0.1, alpha=-1.0), "alpha=-1.0"),
])
def test_bad_input(kwargs, match):
    args = dict(d=0.1, alpha=ALPHA, kappa=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match) as exc:
        th.local_entropy(args.pop("d"), args.pop("alpha"), **args)
    assert "\n" not in str(exc.value)


@pytest.mark.slow
def test_flat_minima_threshold_rs_franz_parisi():
    out = th.flat_minima_threshold()
    # PHYSICS.md: loss of monotonicity of the RS Franz-Parisi curve near 0.73 (not the
    # 0.77-0.78 of large-deviation ensembles).
    assert 0.715 < out["alpha_LE"] < 0.74
    assert "monotonicity" in out["criterion"]
