"""RS entropy, capacity, margins, symmetric, spherical: published values and consistency."""

import json
import math
import pathlib
import warnings

import numpy as np
import pytest

from spinglass_nets import theory as th
from spinglass_nets.errors import ConvergenceWarning
from spinglass_nets.theory import rs as rs_mod
from spinglass_nets.theory._special import SADDLE_TOL

REF = json.loads((pathlib.Path(__file__).parents[1] / "data" / "reference_values.json").read_text())


def half_ulp(digits):
    """Agreement to the quoted digits: within half a unit of the last quoted decimal."""
    return 0.5 * 10.0 ** (-digits)


@pytest.mark.parametrize("row", REF["capacity_binary_rs"]["values"], ids=lambda r: str(r["kappa"]))
def test_capacity_matches_published(row):
    tol = 2 * half_ulp(row["digits"]) if row.get("truncated") else half_ulp(row["digits"])
    assert abs(th.capacity(row["kappa"]) - row["alpha_c"]) <= tol


def test_capacity_is_zero_entropy_point_not_gardner_derrida():
    ac = th.capacity(0.0)
    r = th.rs_entropy(ac, 0.0)
    assert r.converged and abs(r.entropy) < 1e-12
    gd = th.gardner_derrida_alpha(0.0)
    assert gd == pytest.approx(4 / math.pi, rel=1e-12)
    # Just below the q -> 1 point the RS entropy is clearly negative.
    assert th.rs_entropy(0.999 * gd, 0.0).entropy < -0.05


@pytest.mark.parametrize("row", REF["quenched_entropy_rs"]["values"], ids=lambda r: str(r["alpha"]))
def test_rs_entropy_published(row):
    r = th.rs_entropy(row["alpha"], row["kappa"])
    assert r.converged and r.residual < SADDLE_TOL
    assert abs(r.entropy - row["entropy"]) <= half_ulp(row["digits"])


@pytest.mark.parametrize("row", REF["annealed_entropy"]["values"], ids=lambda r: str(r["alpha"]))
def test_annealed_published(row):
    assert abs(th.annealed_entropy(row["alpha"], row["kappa"]) - row["entropy"]) <= half_ulp(row["digits"])


@pytest.mark.parametrize("alpha,kappa", [(0.3, 0.0), (0.6, 0.4), (1.2, -0.5), (0.1, 1.0)])
def test_saddle_is_stationary_by_finite_differences(alpha, kappa):
    r = th.rs_entropy(alpha, kappa)
    assert r.converged
    h = 1e-3

    def d5(f):
        # Five-point stencil: truncation O(h^4) ~ 1e-12, rounding ~ eps / h ~ 1e-13.
        return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)

    # The quadrature nodes follow the kinks, so phi carries ~1e-12 of node-placement noise;
    # divided by h that bounds what a finite difference can resolve (~1e-9 .. 1e-8).
    tol = 1e-11 / h * max(1.0, r.q_hat)
    dq = d5(lambda e: rs_mod._rs_phi(r.q + e, r.q_hat, alpha, kappa))
    dqh = d5(lambda e: rs_mod._rs_phi(r.q, r.q_hat + e, alpha, kappa))
    assert abs(dq) < tol and abs(dqh) < tol
    # Envelope theorem: total derivatives equal the partial ones at the saddle.
    fd_a = d5(lambda e: th.rs_entropy(alpha + e, kappa).entropy)
    fd_k = d5(lambda e: th.rs_entropy(alpha, kappa + e).entropy)
    assert fd_a == pytest.approx(rs_mod._rs_dphi_dalpha(r.q, alpha, kappa), abs=tol)
    assert fd_k == pytest.approx(rs_mod._rs_dphi_dkappa(r.q, alpha, kappa), abs=tol)


def test_annealed_bounds_quenched_and_curve_is_continuous():
    for kappa in (-0.5, 0.0, 0.5):
        # Stay below the Gardner-Derrida point, where the RS saddle exists.
        alpha = np.linspace(0.02, min(0.9, 0.95 * th.gardner_derrida_alpha(kappa)), 45)
        r = th.rs_entropy(alpha, kappa)
        ok = r.converged
        assert ok.all()
        assert np.all(th.annealed_entropy(alpha[ok], kappa) >= r.entropy[ok] - 1e-12)
        assert np.all(r.residual[ok] < SADDLE_TOL)
        # Entropy decreases with alpha (ds/dalpha = E log H < 0) and q increases.
        assert np.all(np.diff(r.entropy[ok]) < 0) and np.all(np.diff(r.q[ok]) > 0)
        # Continuity: each second difference is small against the neighbouring first ones
        # (a jump or a switched branch would make them comparable).
        d1 = np.abs(np.diff(r.entropy))
        d2 = np.abs(np.diff(r.entropy, 2))
        assert np.all(d2 < 0.5 * np.maximum(d1[:-1], d1[1:]))


def test_array_and_scalar_agree():
    r = th.rs_entropy(np.array([0.2, 0.6]), 0.1)
    assert r.entropy[1] == pytest.approx(th.rs_entropy(0.6, 0.1).entropy, abs=1e-13)
    assert isinstance(th.rs_entropy(0.2).entropy, float)


def test_beyond_gardner_derrida_warns_not_raises():
    with pytest.warns(ConvergenceWarning):
        r = th.rs_entropy(np.array([0.5, 2.0]), 0.0)
    assert r.converged.tolist() == [True, False] and math.isnan(r.entropy[1])


def test_capacity_and_max_margin_are_inverse():
    k = np.array([-0.5, 0.0, 0.5, 1.0])
    ac = th.capacity(k)
    assert np.all(np.diff(ac) < 0)
    assert th.max_margin(ac) == pytest.approx(k, abs=1e-9)


def test_margin_density_normalised_and_cdf_consistent():
    from scipy.integrate import quad

    alpha, kappa = 0.5, 0.2
    total = quad(lambda x: th.margin_density(x, alpha, kappa), kappa, kappa + 12, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    x = 1.1
    part = quad(lambda y: th.margin_density(y, alpha, kappa), kappa, x)[0]
    assert th.margin_cdf(x, alpha, kappa) == pytest.approx(part, abs=1e-10)
    assert th.margin_density(kappa - 1e-9, alpha, kappa) == 0.0
    assert th.margin_density(kappa, alpha, kappa) > 0.5  # the finite jump at Delta = kappa
    assert th.margin_cdf(kappa, alpha, kappa) == pytest.approx(0.0, abs=1e-14)


def test_symmetric_capacity_published_and_first_moment():
    row = REF["symmetric_capacity"]["values"][0]
    assert abs(th.symmetric_capacity(row["kappa"]) - row["alpha_c"]) <= half_ulp(row["digits"])
    ac = th.symmetric_capacity(np.array([0.5, 1.0, 2.0]))
    assert th.symmetric_entropy(ac, np.array([0.5, 1.0, 2.0])) == pytest.approx(0.0, abs=1e-13)
    from spinglass_nets.theory.symmetric import symmetric_rs_phi

    # q = q^ = 0 is the RS saddle: the RS free entropy equals the first moment there and
    # its one-sided derivatives vanish (O(h) forward differences).
    s = symmetric_rs_phi(0.0, 0.0, 1.0, 1.0)
    assert s == pytest.approx(th.symmetric_entropy(1.0, 1.0), abs=1e-13)
    h = 1e-6
    assert abs(symmetric_rs_phi(h, 0.0, 1.0, 1.0) - s) / h < 10 * h
    assert abs(symmetric_rs_phi(0.0, h, 1.0, 1.0) - s) / h < 10 * h


def test_spherical_capacity():
    row = REF["spherical_capacity"]["values"][0]
    assert th.spherical_capacity(0.0) == pytest.approx(row["alpha_c"], abs=1e-12)
    from scipy.stats import norm

    k = np.array([-2.0, 1.0, 3.0])
    closed = 1 / ((1 + k**2) * norm.cdf(k) + k * norm.pdf(k))
    assert th.spherical_capacity(k) == pytest.approx(closed, rel=1e-12)
    # Binary weights store less than continuous ones.
    assert th.capacity(0.5) < th.spherical_capacity(0.5)


@pytest.mark.parametrize("call,match", [
    (lambda: th.rs_entropy(-0.1), "alpha=-0.1"),
    (lambda: th.rs_entropy(0.5, math.inf), "kappa=inf"),
    (lambda: th.capacity(math.nan), "kappa=nan"),
    (lambda: th.annealed_entropy(-1.0), "alpha"),
    (lambda: th.symmetric_capacity(0.0), "kappa=0.0"),
    (lambda: th.symmetric_entropy(1.0, -1.0), "kappa=-1.0"),
    (lambda: th.spherical_capacity(math.nan), "kappa"),
    (lambda: th.margin_density(0.5, -0.3), "alpha"),
])
def test_bad_input_is_one_line_value_error(call, match):
    with pytest.raises(ValueError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


def test_no_warning_on_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        th.capacity(0.0)
        th.max_margin(0.5)
