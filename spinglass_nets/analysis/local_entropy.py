"""Local entropy around a reference configuration: exact (enumeration) and Monte Carlo.

``S(k) = (1/N) log #{w solution : Hamming(w, reference) = k}`` at the integer distances
``d = k/N`` (the finite-N definition of the Franz-Parisi local entropy, PHYSICS.md
section 4; Huang and Kabashima, PRE 90, 052813 (2014); Baldassi et al., PRL 115, 128101
(2015)). Its N -> infinity limit for references drawn uniformly among the solutions of
margin ``kappa_ref`` is :func:`spinglass_nets.theory.local_entropy`.

Monte Carlo estimator (``method="mc"``)
--------------------------------------
Replicas sample ``pi_l(w) ∝ exp(-beta E(w) + lambda_l w.reference)`` on a ladder of
coupling strengths ``lambda_l`` with exchanges between neighbours
(:class:`spinglass_nets.samplers.ReferenceTempering`). With ``j`` the distance to the
reference, ``w.reference = N - 2j`` and the distance law at rung ``l`` is
``G(j) exp(lambda_l (N - 2j)) / Z_l`` with ``G(j) = sum_E g(E, j) exp(-beta E)``.
The histograms of all rungs are combined by the binned multistate Bennett acceptance
ratio / WHAM estimator (Ferrenberg and Swendsen, PRL 63, 1195 (1989); Kumar et al.,
J. Comput. Chem. 13, 1011 (1992); Shirts and Chodera, J. Chem. Phys. 129, 124105 (2008),
eq. 11): the free energies ``f_l = log Z_l`` minimise the convex function

    L(f) = sum_j H(j) log sum_l n_l exp(u_l(j) - f_l) + sum_l n_l f_l,  u_l(j) = lambda_l (N - 2j),

and ``G(j) = H(j) / sum_l n_l exp(u_l(j) - f_l)`` with ``H(j)`` the pooled histogram and
``n_l`` the samples of rung l. The absolute scale is fixed at ``j = 0``, where the count is
known: ``G(0) = exp(-beta E(reference))`` (one configuration, the reference; 1 when it is a
solution). Because every rung has the same ``beta``, the law of ``E`` given ``j`` does not
depend on the rung, so the number of solutions is ``g(0, j) = G(j) f_0(j)`` with ``f_0(j)``
the fraction of samples at distance j (all rungs) that are solutions (``f_0 = 1`` at
``beta = inf``). Error bars: jackknife over the independent chains (leave one chain out).

At ``beta = inf`` single-flip moves never leave the solution space, so the chains count the
solutions connected (through single flips inside the solution space) to their starting
points — all of them start at the reference by default. Pass a finite ``beta`` to let the
chains cross between clusters (the estimator stays exact, and the test suite validates it
against enumeration in that mode).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._common import check_reference

__all__ = ["LocalEntropyResult", "local_entropy", "default_lambdas", "wham_log_counts"]


@dataclass(frozen=True)
class LocalEntropyResult:
    """Local entropy at the integer distances ``d = k/N`` from a reference.

    Attributes
    ----------
    d : ndarray, shape (N + 1,)
        ``k / N``.
    k : ndarray, shape (N + 1,)
        Distances in flips.
    entropy : ndarray, shape (N + 1,)
        ``S(k) = (1/N) log #solutions at distance k``. Exact: ``-inf`` where there is none.
        MC: ``nan`` where no solution was sampled at that distance.
    error : ndarray, shape (N + 1,)
        Standard error (0 for the exact method; jackknife over chains for MC).
    log_count : ndarray, shape (N + 1,)
        ``N * entropy``: natural log of the number of solutions at distance k.
    method : str
        ``"exact"`` or ``"mc"``.
    n : int
    info : dict
        Method details (MC: ladder, samples per distance, swap acceptance, seconds, ...).
    """

    d: np.ndarray
    k: np.ndarray
    entropy: np.ndarray
    error: np.ndarray
    log_count: np.ndarray
    method: str
    n: int
    info: dict = field(default_factory=dict)


def default_lambdas(n: int, d_max: float = 0.3) -> np.ndarray:
    """A coupling ladder for :func:`local_entropy` (``method="mc"``).

    Around a dense reference ``S(d) ~ H2(d)``, so the coupling that holds the chains at
    distance d is ``lambda = S'(d)/2 = (1/2) log((1 - d)/d)``; the distance fluctuates by
    about ``sqrt(N d)`` flips, so neighbouring rungs overlap when ``sqrt(d)`` is spaced
    uniformly (about ``2 sqrt(N d_max)`` rungs). The top rung holds the chains near
    ``d = 1/(2N)``, where the reference itself is visited often (that anchors the count).
    A uniform grid on ``[0, 1]`` is added because around isolated (typical) references
    small couplings already move the distance a lot.

    Returns
    -------
    ndarray, shape (K,)
        Strictly increasing, starting at 0.
    """
    if n < 2:
        raise ValueError(f"n={n!r} must be >= 2")
    K = max(6, int(math.ceil(2.0 * math.sqrt(n * d_max))) + 1)
    sd = np.linspace(math.sqrt(0.5 / n), math.sqrt(d_max), K)
    dk = sd**2
    lams = 0.5 * np.log((1 - dk) / dk)
    lams = np.concatenate([lams, np.linspace(0.0, 1.0, 9)])
    lams = np.unique(np.round(lams, 6))
    # Drop rungs closer than 0.04 to a neighbour: they add cost, not overlap.
    keep = [lams[0]]
    for x in lams[1:]:
        if x - keep[-1] >= 0.04:
            keep.append(x)
    return np.array(keep)


def _lse(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def wham_log_counts(hist, lams, n, f0=None):
    """Binned MBAR / WHAM: log of ``G(j)`` (up to a constant) from per-rung histograms.

    Parameters
    ----------
    hist : array_like, shape (K, N + 1)
        Samples of rung l at distance j.
    lams : array_like, shape (K,)
        Couplings; the bias of rung l at distance j is ``lambda_l (N - 2j)``.
    n : int
        Number of weights N.
    f0 : array_like, shape (K,), optional
        Starting free energies.

    Returns
    -------
    log_g : ndarray, shape (N + 1,)
        ``log G(j)`` up to an additive constant; ``-inf`` where no sample fell.
    f : ndarray, shape (K,)
        Free energies ``log Z_l`` (gauge ``f_0 = 0``).
    """
    from scipy import optimize

    H = np.asarray(hist, dtype=np.float64)
    lam = np.asarray(lams, dtype=np.float64)
    K = lam.size
    j = np.arange(n + 1)
    nl = H.sum(axis=1)
    if np.any(nl <= 0):
        raise ValueError("every rung of the ladder needs samples")
    Ht = H.sum(axis=0)
    seen = Ht > 0
    u = lam[:, None] * (n - 2.0 * j[None, seen])  # (K, J)
    h = Ht[seen]
    logn = np.log(nl)
    total = nl.sum()

    def parts(x):
        f = np.concatenate([[0.0], x])
        a = logn[:, None] + u - f[:, None]  # (K, J)
        lse = _lse(a, 0)
        wgt = np.exp(a - lse[None, :])  # rung weights per distance, columns sum to 1
        return f, lse, wgt

    def fun(x):
        f, lse, wgt = parts(x)
        val = (h * lse).sum() + (nl * f).sum()
        grad = nl - wgt @ h
        return val / total, grad[1:] / total

    def hess(x):
        _, _, wgt = parts(x)
        Hm = np.diag(wgt @ h) - (wgt * h[None, :]) @ wgt.T
        return Hm[1:, 1:] / total

    if f0 is None:
        # Start from the free energies of a ladder whose histograms all sit at their modes.
        x0 = np.zeros(K - 1)
    else:
        x0 = np.asarray(f0, dtype=np.float64)[1:] - float(np.asarray(f0)[0])
    res = optimize.minimize(fun, x0, jac=True, hess=hess, method="trust-exact",
                            options={"gtol": 1e-10, "maxiter": 500})
    f, lse, _ = parts(res.x)
    log_g = np.full(n + 1, -np.inf)
    log_g[seen] = np.log(h) - lse
    return log_g, f


def _exact(instance, ref):
    from .. import exact

    prof = np.asarray(exact.distance_profile(instance, ref), dtype=np.float64)
    with np.errstate(divide="ignore"):
        logc = np.log(prof)
    n = instance.n
    k = np.arange(n + 1)
    return LocalEntropyResult(d=k / n, k=k, entropy=logc / n, error=np.zeros(n + 1), log_count=logc,
                              method="exact", n=n, info={"counts": prof.astype(np.int64).tolist(),
                                                         "n_solutions": int(prof.sum())})


def _estimate(H, H0, Hall, lams, n, anchor, f0=None):
    """S(j) from pooled histograms: (entropy (N+1,), free energies)."""
    log_g, f = wham_log_counts(H, lams, n, f0)
    if not np.isfinite(log_g[0]):
        return np.full(n + 1, np.nan), f
    log_g = log_g - log_g[0] + anchor
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(Hall > 0, H0 / np.maximum(Hall, 1), np.nan)
        logc = log_g + np.log(frac)
    logc = np.where(np.isfinite(logc), logc, np.nan)
    return logc / n, f


def _mc(instance, ref, *, rng, lams, beta, n_chains, n_sweeps, discard, record_every, init, swap_every, progress):
    try:
        from ..samplers import ReferenceTempering, run
    except ImportError as exc:  # pragma: no cover - depends on the samplers version
        raise ImportError("method='mc' needs spinglass_nets.samplers.ReferenceTempering") from exc
    n = instance.n
    lams = default_lambdas(n) if lams is None else np.asarray(lams, dtype=np.float64)
    if lams.ndim != 1 or lams.size < 2 or not np.all(np.isfinite(lams)) or np.any(np.diff(lams) <= 0):
        raise ValueError("lams must be a strictly increasing 1-d array of >= 2 finite couplings")
    beta = float(beta)
    if math.isnan(beta) or beta <= 0:
        raise ValueError(f"beta={beta!r} must be > 0 (inf allowed)")
    for name, v, lo in (("n_chains", n_chains, 2), ("n_sweeps", n_sweeps, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name}={v!r} must be an integer >= {lo}")
    if not 0 <= discard < 1:
        raise ValueError(f"discard={discard!r} must be in [0, 1)")
    e_ref = float(instance.energy(ref, "errors"))
    if math.isinf(beta) and e_ref > 0:
        raise ValueError("at beta=inf the reference must be a solution of the instance (the count at "
                         "distance 0 anchors the estimate); pass a finite beta")
    anchor = -beta * e_ref if e_ref > 0 else 0.0
    K = lams.size
    if record_every is None:
        record_every = max(1, n_sweeps // 400)
    n_sweeps = int(n_sweeps) - int(n_sweeps) % int(record_every)
    if init is None:
        init = np.tile(ref, (n_chains * K, 1))
    sampler = ReferenceTempering(ref, lams, beta=beta, swap_every=swap_every, energy="errors")
    res = run(sampler, instance, n_chains=int(n_chains), n_sweeps=n_sweeps, record_every=int(record_every),
              init=init, rng=rng, progress=progress)
    T0 = int(discard * res.samples.shape[0])
    w = res.samples[T0:]  # (T, C*K, N), column c*K + l
    e = np.asarray(res.traces["energy"])[T0:]
    T = w.shape[0]
    if T == 0:
        raise ValueError("no records left after discard; raise n_sweeps or lower discard")
    dist = ((n - w.astype(np.int32) @ ref.astype(np.int32)) // 2).reshape(T, n_chains, K)
    sol = (e == 0).reshape(T, n_chains, K)
    C = n_chains
    H = np.zeros((C, K, n + 1))
    H0 = np.zeros((C, n + 1))
    Hall = np.zeros((C, n + 1))
    for c in range(C):
        for l in range(K):
            H[c, l] = np.bincount(dist[:, c, l], minlength=n + 1)
            H0[c] += np.bincount(dist[:, c, l][sol[:, c, l]], minlength=n + 1)
        Hall[c] = H[c].sum(axis=0)
    S, f = _estimate(H.sum(0), H0.sum(0), Hall.sum(0), lams, n, anchor)
    loo = np.array([_estimate(H.sum(0) - H[c], H0.sum(0) - H0[c], Hall.sum(0) - Hall[c], lams, n, anchor, f)[0]
                    for c in range(C)])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # distances no leave-one-out estimate saw
        m = np.nanmean(loo, axis=0)
        err = np.sqrt((C - 1) / C * np.nansum((loo - m) ** 2, axis=0))
    # A distance seen by fewer than two leave-one-out estimates has no error bar.
    err = np.where(np.isfinite(loo).sum(axis=0) >= C, err, np.nan)
    err = np.where(np.isfinite(S), err, np.nan)
    if np.isfinite(S[0]):
        err[0] = 0.0  # the anchor
    k = np.arange(n + 1)
    info = {
        "lams": lams.tolist(), "beta": beta, "n_chains": int(n_chains), "n_sweeps": int(n_sweeps),
        "record_every": int(record_every), "discard": float(discard), "records_used": int(T),
        "samples_at_k": Hall.sum(0).astype(np.int64).tolist(), "solutions_at_k": H0.sum(0).astype(np.int64).tolist(),
        "free_energies": f.tolist(), "mean_distance_per_rung": (dist.mean(axis=(0, 1)) / n).tolist(),
        "stats": {kk: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for kk, v in res.stats.items()},
        "seconds": float(res.seconds), "seed": res.seed,
    }
    return LocalEntropyResult(d=k / n, k=k, entropy=S, error=err, log_count=S * n, method="mc", n=n, info=info)


def local_entropy(instance, reference, *, method: str = "exact", rng=None, lams=None, beta: float = math.inf,
                  n_chains: int = 8, n_sweeps: int = 2000, discard: float = 0.25, record_every: int | None = None,
                  init=None, swap_every: int = 5, progress: bool | None = False) -> LocalEntropyResult:
    """Local entropy ``S(d)`` around ``reference`` at the integer distances ``d = k/N``.

    Parameters
    ----------
    instance : PerceptronInstance
    reference : array_like, shape (N,)
        +-1 configuration (for ``method="mc"`` at ``beta = inf``: a solution).
    method : {"exact", "mc"}
        ``"exact"``: :func:`spinglass_nets.exact.distance_profile` (N <= 34).
        ``"mc"``: replica exchange along a coupling ladder plus multi-histogram
        reweighting (module docstring).
    rng : None, int, SeedSequence or Generator
        Seed of the Monte Carlo run (ignored by ``"exact"``).
    lams : array_like, shape (K,), optional
        Increasing couplings (default :func:`default_lambdas`).
    beta : float
        Inverse temperature of the chains (``inf``: restricted to solutions).
    n_chains : int
        Independent chains (>= 2; error bars are jackknife over chains).
    n_sweeps : int
        Sweeps per chain; the first ``discard`` fraction of the records is burn-in.
    discard : float
    record_every : int, optional
        Sweeps between records (default: about 400 records).
    init : array_like, shape (n_chains * K, N), optional
        Initial configurations (default: every replica at the reference).
    swap_every : int
        Sweeps between exchange attempts (default 5: each exchange round is a Python-level
        step, so exchanging every sweep costs more than it gains at small N).
    progress : bool or None
        tqdm bar of the Monte Carlo run (``None``: only when stderr is a terminal).

    Returns
    -------
    LocalEntropyResult
        ``.d``, ``.entropy``, ``.error`` at every integer distance.
    """
    n = instance.n
    ref = check_reference(reference, n)
    if method == "exact":
        return _exact(instance, ref)
    if method == "mc":
        return _mc(instance, ref, rng=rng, lams=lams, beta=beta, n_chains=n_chains, n_sweeps=n_sweeps,
                   discard=discard, record_every=record_every, init=init, swap_every=swap_every, progress=progress)
    raise ValueError(f"method={method!r} is not allowed; choose 'exact' or 'mc'")
