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


# Typical references (kappa_ref = kappa = 0): continuation away from the degenerate peak at
# d_eq, where the variances c2^2 and b^2 vanish. SMALL_D[alpha] is a distance at which S < 0
# (typical solutions are isolated, Huang and Kabashima 2014); the negative region shrinks
# quickly as alpha -> 0.
SMALL_D = {0.1: 3e-5, 0.3: 1e-3, 0.5: 2e-3, 0.7: 4e-3}
GRID = np.linspace(0.005, 0.45, 30)


def _typical_curve(alpha):
    rs = th.rs_entropy(alpha)
    d_eq = 0.5 * (1 - rs.q)
    d = np.sort(np.concatenate([[SMALL_D[alpha], d_eq], GRID]))
    return th.local_entropy(d, alpha), rs.entropy, d_eq


def _check_typical_curve(r, s_rs, d_eq):
    d, s, g = r.d, r.entropy, r.dS_dd
    assert np.all(r.converged) and np.all(r.residual < SADDLE_TOL)
    # Isolated typical solutions: S < 0 close to the reference ...
    assert s[0] < 0
    # ... never more solutions than the shell holds, and the RS entropy at d_eq, the maximum.
    assert np.all(s <= th.binary_entropy(d) + 1e-12)
    i_eq = int(np.argmin(np.abs(d - d_eq)))
    assert s[i_eq] == pytest.approx(s_rs, abs=1e-10)
    assert abs(g[i_eq]) < 1e-8
    assert np.all(np.delete(s, i_eq) < s_rs)
    # Continuity (no jumps to another branch): by the mean-value theorem each secant slope
    # lies between the slopes at the ends of its interval (S' is monotone on each interval
    # here, except on the first, wide interval, which holds the maximum of S' at small d),
    # up to a small slack for inflection points.
    d, s, g = d[1:], s[1:], g[1:]
    secant = np.diff(s) / np.diff(d)
    lo, hi = np.minimum(g[1:], g[:-1]), np.maximum(g[1:], g[:-1])
    slack = 0.02 * np.maximum(np.abs(lo), np.abs(hi)) + 1e-9
    assert np.all((secant >= lo - slack) & (secant <= hi + slack))


@pytest.mark.parametrize("alpha", [0.3])
def test_typical_curve_converges_everywhere(alpha):
    # Before the peak expansion and the step control, every point of this grid failed.
    _check_typical_curve(*_typical_curve(alpha))


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.7])
def test_typical_curve_converges_everywhere_slow(alpha):
    _check_typical_curve(*_typical_curve(alpha))


def test_typical_first_steps_from_the_peak():
    # The example of the bug report: all five points used to fail at alpha = 0.3.
    r = th.local_entropy(np.array([0.005, 0.01, 0.02, 0.04, 0.08]), 0.3)
    assert np.all(r.converged)
    assert np.all(np.diff(r.entropy) > 0)
    # A lone target far from d_eq, and distances extremely close to it on both sides.
    q0 = th.rs_entropy(0.5).q
    d_eq = 0.5 * (1 - q0)
    r = th.local_entropy(np.array([0.005, d_eq - 1e-7, d_eq + 1e-7, 0.5]), 0.5)
    assert np.all(r.converged)
    assert r.entropy[0] == pytest.approx(-0.0038378, abs=1e-6)  # negative at alpha = 0.5
    s_rs = th.rs_entropy(0.5).entropy
    assert r.entropy[1] == pytest.approx(s_rs, abs=1e-12)
    assert r.entropy[2] == pytest.approx(s_rs, abs=1e-12)


def test_typical_slope_matches_finite_difference():
    alpha, h = 0.3, 1e-4
    d_eq = 0.5 * (1 - th.rs_entropy(alpha).q)
    centers = [0.1, d_eq - 0.01]
    d = np.concatenate([c + h * np.arange(-2, 3) for c in centers])
    r = th.local_entropy(d, alpha)
    assert np.all(r.converged)
    for k in range(len(centers)):
        s = r.entropy[5 * k:5 * k + 5]
        fd = (-s[4] + 8 * s[3] - 8 * s[1] + s[0]) / (12 * h)
        assert fd == pytest.approx(r.dS_dd[5 * k + 2], abs=1e-7)


@pytest.mark.slow
def test_typical_dense_grid():
    # 100 points with spacing 0.005 (34/100 converged before; now a few seconds).
    d = np.linspace(0.01, 0.5, 100)
    r = th.local_entropy(d, ALPHA)
    assert np.all(r.converged)
    assert r.entropy[0] == pytest.approx(0.0062, abs=1e-4)
    assert np.all(r.entropy <= th.binary_entropy(d) + 1e-12)
    g = r.dS_dd
    secant = np.diff(r.entropy) / np.diff(d)
    lo, hi = np.minimum(g[1:], g[:-1]), np.maximum(g[1:], g[:-1])
    slack = 0.02 * np.maximum(np.abs(lo), np.abs(hi)) + 1e-9
    assert np.all((secant >= lo - slack) & (secant <= hi + slack))


@pytest.mark.slow
def test_flat_minima_threshold_rs_franz_parisi():
    out = th.flat_minima_threshold()
    # PHYSICS.md: loss of monotonicity of the RS Franz-Parisi curve near 0.73 (not the
    # 0.77-0.78 of large-deviation ensembles).
    assert 0.715 < out["alpha_LE"] < 0.74
    assert "monotonicity" in out["criterion"]
