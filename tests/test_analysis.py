"""Analysis functions against exact referees (enumeration), AR(1) processes and invariants."""

import math

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import analysis as A
from spinglass_nets import exact


@pytest.fixture(scope="module")
def small():
    inst = sn.make_perceptron(17, 0.5, rng=11)
    sols = exact.enumerate_solutions(inst)
    assert len(sols) > 50
    return inst, sols


def _ar1(phi, T, C, seed):
    g = np.random.default_rng(seed)
    x = np.empty((T, C))
    x[0] = g.normal(size=C) / math.sqrt(1 - phi**2)  # start in the stationary law
    eps = g.normal(size=(T, C))
    for t in range(1, T):
        x[t] = phi * x[t - 1] + eps[t]
    return x


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_autocorrelation_time_ar1(phi):
    # AR(1): tau_int = (1 + phi) / (1 - phi) exactly. Sokal's window gives a relative standard
    # error ~ sqrt(2 (2M + 1) / T) with M ~ 5 tau (Sokal 1996, eq. 3.19); we allow 4 of them.
    T, C = 20000, 4
    x = _ar1(phi, T, C, seed=int(phi * 10))
    tau = (1 + phi) / (1 - phi)
    est = A.autocorrelation_time(x)
    rel = math.sqrt(2 * (2 * 5 * tau + 1) / (T * C))
    assert abs(est / tau - 1) < 4 * rel + 0.02
    ess = A.effective_sample_size(x)
    assert ess == pytest.approx(T * C / est)


def test_binning_error_ar1():
    # Error of the mean of an AR(1) series: sigma^2 tau / n with sigma^2 = 1/(1 - phi^2).
    phi, T, C = 0.8, 2**15, 2
    x = _ar1(phi, T, C, seed=5)
    tau = (1 + phi) / (1 - phi)
    true = math.sqrt(tau / (1 - phi**2) / (T * C))
    b = A.binning_error(x)
    assert b["error"] == pytest.approx(true, rel=0.25)  # plateau of the blocking curve is noisy
    assert abs(b["mean"]) < 4 * true


def test_stats_bad_input():
    with pytest.raises(ValueError):
        A.autocorrelation_time(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        A.autocorrelation_time([1.0])
    assert A.autocorrelation_time(np.ones(100)) == 1.0


def test_chain_mean_error():
    m, e = A.chain_mean_error(np.array([[1.0, np.nan], [3.0, 2.0], [5.0, np.nan]]))
    assert m[0] == 3.0 and e[0] == pytest.approx(2 / math.sqrt(3))
    assert m[1] == 2.0 and np.isnan(e[1])


# ------------------------------------------------------------------------------ margins
def test_margins_enumerated_vs_direct_count(small):
    inst, sols = small
    r = A.margins(inst, sols)
    # Referee: a direct count of the integer fields of every solution.
    h = (sols.astype(np.int64) @ inst.xi.T.astype(np.int64)) * inst.y
    sq = math.sqrt(inst.n)
    for b in range(r.density.size):
        lo, hi = r.edges[b], r.edges[b + 1]
        direct = np.mean((h / sq >= lo) & (h / sq < hi)) / (hi - lo)
        assert r.density[b] == pytest.approx(direct, abs=1e-12)
    assert np.sum(r.density * np.diff(r.edges)) == pytest.approx(1.0)
    assert np.all(r.min_margin >= inst.kappa)
    # The binned RS law integrates to the RS CDF at the last edge (mass beyond it is cut).
    from spinglass_nets.theory import margin_cdf

    last = margin_cdf(r.edges[-1], inst.alpha, inst.kappa)
    assert np.sum(r.theory * np.diff(r.edges)) == pytest.approx(last, abs=1e-9)
    assert 0 <= r.ks < 0.3


def test_margins_gaussian_ks_decreases_towards_theory():
    # Uniform solutions (enumeration) approach the RS law: at N = 18 the KS distance is small.
    inst = sn.make_perceptron(18, 0.5, patterns="gaussian", rng=3)
    sols = exact.enumerate_solutions(inst)
    r = A.margins(inst, sols)
    assert r.ks < 0.15
    assert r.n_values == len(sols) * inst.p


def test_margins_bad_input(small):
    inst, _ = small
    with pytest.raises(ValueError, match="N = 17"):
        A.margins(inst, np.ones((3, 16), np.int8))
    with pytest.raises(ValueError):
        A.margins(inst, np.zeros((3, 17)))


# -------------------------------------------------------------------- overlaps, density
def test_density_profile_vs_distance_profile(small):
    inst, sols = small
    ref = sols[0]
    prof = exact.distance_profile(inst, ref)
    full = A.density_profile(ref, sols)  # every solution once: exact fractions
    np.testing.assert_array_equal(full.counts, prof)
    # Uniform samples of the solutions: chi-square against the exact law (p-value floor 1e-3).
    g = np.random.default_rng(0)
    samples = sols[g.integers(len(sols), size=(400, 5))]  # (T, C, N): 5 chains
    r = A.density_profile(ref, samples)
    p = prof / prof.sum()
    expected = p * r.n_samples
    keep = expected > 5
    from scipy import stats

    obs = np.append(r.counts[keep], r.counts[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi2, obs.size - 1) > 1e-3
    # Jackknife error of the mean distance matches its binomial-scale expectation.
    d = np.arange(inst.n + 1) / inst.n
    sd = math.sqrt((p * (d - (p * d).sum()) ** 2).sum() / r.n_samples)
    assert r.mean_distance_error == pytest.approx(sd, rel=0.5)
    assert abs(r.mean_distance - (p * d).sum()) < 4 * sd


def test_density_profile_bad_reference(small):
    inst, sols = small
    with pytest.raises(ValueError, match="shape"):
        A.density_profile(sols[0][:-1], sols)


def test_overlaps_independent_uniform_solutions(small):
    inst, sols = small
    g = np.random.default_rng(1)
    w = sols[g.integers(len(sols), size=(200, 6))]
    r = A.overlaps(w)
    # Referee: exact <q> and <q^2> between two independent uniform solutions.
    Q = sols.astype(float) @ sols.T.astype(float) / inst.n
    assert abs(r.mean - Q.mean()) < 4 * r.mean_error
    assert abs(r.q2 - (Q**2).mean()) < 4 * r.q2_error
    assert np.sum(r.density * np.diff(r.edges)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 chains"):
        A.overlaps(sols[:1])


# ------------------------------------------------------------------------ local entropy
def test_local_entropy_exact(small):
    inst, sols = small
    ref = sols[3]
    r = A.local_entropy(inst, ref)
    prof = exact.distance_profile(inst, ref)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(r.entropy, np.log(prof) / inst.n)
    assert r.entropy[0] == 0.0 and np.all(r.error == 0)
    assert np.all(r.d == np.arange(inst.n + 1) / inst.n)


def test_local_entropy_bad_input(small):
    inst, sols = small
    with pytest.raises(ValueError, match="shape"):
        A.local_entropy(inst, sols[0][:5])
    with pytest.raises(ValueError, match="method"):
        A.local_entropy(inst, sols[0], method="magic")


def test_wham_recovers_exact_counts_from_exact_biased_laws(small):
    # Referee independent of any sampler: draw distance histograms from the exact biased laws
    # G(j) exp(lambda (N - 2j)) / Z and check the reweighted counts against enumeration.
    inst, sols = small
    ref = sols[0]
    prof = exact.distance_profile(inst, ref).astype(float)
    n = inst.n
    lams = A.default_lambdas(n)
    j = np.arange(n + 1)
    g = np.random.default_rng(2)
    H = []
    for lam in lams:
        with np.errstate(divide="ignore"):
            lw = np.log(prof) + lam * (n - 2 * j)
        p = np.exp(lw - lw.max())
        H.append(g.multinomial(20000, p / p.sum()))
    log_g, f = A.wham_log_counts(np.array(H), lams, n)
    seen = np.isfinite(log_g)
    est = log_g - log_g[0]
    exact_log = np.log(prof[seen])
    # Statistical error of log G(j) ~ 1/sqrt(samples at j): allow 5 of them (plus round-off).
    Ht = np.array(H).sum(axis=0)[seen]
    assert np.all(np.abs(est[seen] - exact_log) < 5 / np.sqrt(Ht) + 1e-9)
    assert seen.sum() >= np.count_nonzero(prof) - 3  # only the far, rarely visited tail can be missed


def test_default_lambdas():
    lam = A.default_lambdas(401)
    assert lam[0] == 0 and np.all(np.diff(lam) > 0)
    assert lam[-1] > 0.5 * math.log(401)


# ----------------------------------------------------------------------------- flatness
def test_flatness_solution_fraction_vs_enumeration(small):
    inst, sols = small
    ref = sols[0]
    prof = exact.distance_profile(inst, ref)
    ks = np.array([0, 1, 2, 3])
    r = A.flatness(inst, ref, d=ks / inst.n, n_samples=3000, rng=4)
    exact_frac = prof[ks] / np.array([math.comb(inst.n, int(k)) for k in ks])
    np.testing.assert_array_equal(r.k, ks)
    assert r.energy[0] == 0 and r.solution_fraction[0] == 1
    ok = r.solution_fraction_error > 0
    z = (r.solution_fraction[ok] - exact_frac[ok]) / r.solution_fraction_error[ok]
    assert np.all(np.abs(z) < 4.5)
    # Monotone on average: flipping more weights breaks more constraints.
    r2 = A.flatness(inst, ref, d=[0.1, 0.5], n_samples=500, rng=5)
    assert r2.energy[1] > r2.energy[0]
    # Deterministic under a seed.
    r3 = A.flatness(inst, ref, d=[0.1, 0.5], n_samples=500, rng=5)
    np.testing.assert_array_equal(r2.energy, r3.energy)


def test_flatness_bad_input(small):
    inst, sols = small
    with pytest.raises(ValueError):
        A.flatness(inst, sols[0], d=[1.5], n_samples=10)
    with pytest.raises(ValueError):
        A.flatness(inst, sols[0], d=[0.1], n_samples=1)
    with pytest.raises(ValueError, match="shape"):
        A.flatness(inst, sols[0][:3], d=[0.1], n_samples=10)
