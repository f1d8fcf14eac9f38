"""Belief propagation for the binary perceptron: marginals, Bethe free entropy, local entropy.

The factor graph has one variable per weight ``w_i = +-1`` and one factor per pattern,
``theta(Delta_mu - kappa)`` (or ``eps + (1 - eps) theta`` at inverse temperature beta). The
message from a factor to a weight needs the law of the cavity pre-activation
``sum_{j != i} F_{mu j} w_j``, a sum of ~N independent terms under the BP assumptions; it is
replaced by a Gaussian with the same mean and variance (Braunstein and Zecchina, PRL 96,
030201 (2006), Eqs. (3)-(4); Baldassi et al., PNAS 113, E7655 (2016), SI section on BP).

Two representations (``method=``):

``"edge"``
    One message per (pattern, weight) pair; the factor message keeps the exact Gaussian
    form ``(1/2) log[H(x_+)/H(x_-)]``. Memory O(P N) float64; the most accurate at small N.
``"amp"``
    The relaxed (TAP/AMP) form: the expansion of edge BP to O(1/sqrt N), with O(N + P)
    messages and Onsager reaction terms (Kabashima, J. Phys. A 36, 11111 (2003)). It is what
    makes N = 10^4 affordable: two vectorised passes over the int8 patterns per iteration.
``"auto"`` (default)
    ``"edge"`` when P N <= 2e4 (where its cost per iteration, ~2 log H per edge, is still
    milliseconds), else ``"amp"``.

Continuity correction: for +-1 patterns the field ``h_mu = y_mu xi_mu . w`` moves on a
lattice of step 2 with the parity of N, and a solution needs ``h >= A`` with ``A`` the first
lattice point >= ``h_min``. The Gaussian is therefore cut half-way between the last violating
and the first satisfying lattice point, ``kappa_eff = (A - 1) / sqrt N`` (the usual continuity
correction; it is what makes even-N instances at kappa = 0, where ``h = 0`` satisfies the
constraint, come out right at small N). Gaussian patterns use kappa itself.

Bethe free entropy in AMP variables. Expanding ``log(cosh u + m sinh u) = m u + (1 - m^2) u^2 / 2``
with ``u_{mu i} = F g(omega_mu - F a_i)`` and ``m_{i mu} = a_i - v_i F g_mu`` in the edge
expression (Mezard-Montanari Eq. (14.27)) gives, to O(1) in N,
``Phi = sum_mu [log Zout(omega_mu, V_mu) + V_mu g_mu^2 / 2] + sum_i [log 2cosh h_i - a_i hpat_i]``
(the ``a_i^2 A_i`` terms cancel); this is :func:`~._kernels.amp_free_entropy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._rng import as_generator
from ..solvers.result import check_clock
from . import _kernels as K

METHODS = ("auto", "edge", "amp")
EDGE_MAX_EDGES = 20_000


@dataclass
class BPResult:
    """Result of :func:`bp`.

    Attributes
    ----------
    m : ndarray (N,), float64
        Marginal magnetisations ``<w_i>``.
    free_entropy : float
        Bethe free entropy per weight, ``(1/N) log sum_w exp(lambda w.ref) prod_mu psi_mu``.
    entropy : float
        Entropy per weight: ``free_entropy - lambda * overlap`` (the Legendre transform;
        equal to ``free_entropy`` without a field). Natural log.
    overlap : float
        ``(1/N) sum_i ref_i m_i`` with the reference (nan without a reference).
    converged : bool
    iterations : int
    history : ndarray (iterations,)
        Largest change of a marginal at each iteration.
    method : str
        ``"edge"`` or ``"amp"``.
    seconds : float
    """

    m: np.ndarray
    free_entropy: float
    entropy: float
    overlap: float
    converged: bool
    iterations: int
    history: np.ndarray
    method: str
    seconds: float
    state: object = field(default=None, repr=False)


# ------------------------------------------------------------------------------ helpers
def check_instance(instance):
    """Raise ValueError unless ``instance`` is a perceptron (not symmetric) instance."""
    if not hasattr(instance, "xi") or not hasattr(instance, "kind"):
        raise ValueError(f"instance must be a PerceptronInstance, got {type(instance).__name__}")
    if instance.kind != "perceptron":
        raise ValueError(f"instance.kind={instance.kind!r} is not supported; BP solvers need kind='perceptron'")
    if instance.p < 1:
        raise ValueError(f"instance has P={instance.p} patterns; BP needs P >= 1")


def effective_kappa(instance) -> float:
    """Margin used by the Gaussian cavity law (continuity-corrected for +-1 patterns)."""
    n = instance.n
    if instance.patterns == "binary":
        a = instance.h_min
        if (a - n) % 2:
            a += 1
        return (a - 1) / math.sqrt(n)
    return float(instance.kappa)


def _check_float(name, value, lo, hi, lo_open=False, hi_open=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}") from None
    bad = (math.isnan(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi))
    if bad:
        raise ValueError(f"{name}={value!r} must be a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}")
    return v


def _check_int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}={value!r} must be an integer >= {lo}")
    return int(value)


def check_common(max_iter, tol, damping, time_limit):
    """Validate the keywords every BP routine shares."""
    max_iter = _check_int("max_iter", max_iter, 1)
    tol = _check_float("tol", tol, 0.0, math.inf, lo_open=True)
    damping = _check_float("damping", damping, 0.0, 1.0, hi_open=True)
    if time_limit is not None:
        time_limit = _check_float("time_limit", time_limit, 0.0, math.inf, lo_open=True)
    return max_iter, tol, damping, time_limit


def log_eps_of(beta) -> float:
    """``log exp(-beta)``; ``-inf`` for beta = inf (hard constraints)."""
    b = float(beta)
    if not b > 0:
        raise ValueError(f"beta={beta!r} must be > 0 (inf allowed)")
    return -math.inf if math.isinf(b) else -b


class _State:
    """Messages of one BP run, in either representation (kept to warm-start continuations)."""

    def __init__(self, instance, method, rng):
        self.method = method
        self.n, self.p = instance.n, instance.p
        self.scale = 1.0 / math.sqrt(instance.n)
        self.kappa = effective_kappa(instance)
        self.binary = instance.patterns == "binary"
        gen = as_generator(rng)
        c = instance.c()
        # Small random initial messages break the w -> -w symmetry of kappa = 0 instances
        # in a reproducible way (the only use of rng in BP).
        noise = 1e-3 * gen.standard_normal(self.n)
        if method == "edge":
            self.c = np.ascontiguousarray(c, dtype=np.float64)
            self.u = np.zeros((self.p, self.n))
            self.u += noise[None, :] / self.p
            self.hpat = self.u.sum(axis=0)
            self.mrow = np.empty(self.n)
        else:
            dt = np.int8 if self.binary else np.float64
            self.c = np.ascontiguousarray(c, dtype=dt)
            self.cT = np.ascontiguousarray(self.c.T)
            self.hpat = noise.copy()
            self.a = np.tanh(self.hpat)
            self.v = 1.0 - self.a * self.a
            self.gold = np.zeros(self.p)
            self.omega = np.zeros(self.p)
            self.var = np.ones(self.p)
            self.g = np.zeros(self.p)
            self.mdg = np.zeros(self.p)
            self.hs = np.zeros(self.p)
            self.b = np.zeros(self.n)
            self.acoef = np.zeros(self.n)
        self.hext = np.zeros(self.n)

    # one iteration; returns (max change of a marginal, signed fields of sign(h) or None)
    def step(self, log_eps, damping):
        if self.method == "edge":
            d = K.edge_iterate(self.c, self.scale, self.kappa, log_eps, self.u, self.hpat, self.hext, damping, self.mrow)
            return d
        s = np.where(self.hext + self.hpat >= 0, 1.0, -1.0)
        K.amp_forward(self.cT, self.scale, self.a, self.v, s, self.gold, self.omega, self.var, self.hs, self.binary)
        tot = K.amp_channel(self.kappa, log_eps, self.omega, self.var, self.g, self.mdg)
        K.amp_backward(self.c, self.scale, self.g, self.mdg, self.b, self.acoef, self.binary, tot)
        new = self.b + self.a * self.acoef
        np.clip(new, -K.U_MAX * self.p, K.U_MAX * self.p, out=new)
        self.hpat = damping * self.hpat + (1.0 - damping) * new
        a_new = np.tanh(self.hext + self.hpat)
        d = float(np.max(np.abs(a_new - self.a)))
        self.a = a_new
        self.v = 1.0 - a_new * a_new
        self.gold = self.g.copy()
        return d

    def marginals(self):
        return np.tanh(self.hext + self.hpat)

    def free_entropy(self, log_eps):
        if self.method == "edge":
            return K.edge_free_entropy(self.c, self.scale, self.kappa, log_eps, self.u, self.hpat, self.hext)
        # recompute omega, V, g consistently with the current marginals
        s = np.where(self.a >= 0, 1.0, -1.0)
        K.amp_forward(self.cT, self.scale, self.a, self.v, s, self.gold, self.omega, self.var, self.hs, self.binary)
        K.amp_channel(self.kappa, log_eps, self.omega, self.var, self.g, self.mdg)
        return K.amp_free_entropy(self.kappa, log_eps, self.omega, self.var, self.g, self.hpat, self.hext)


class _FastState:
    """AMP messages for +-1 patterns iterated by the fused single-pass kernel
    (:mod:`spinglass_nets.bp._fast`): int8 padded couplings, float32 inner products.

    Same initial messages (same ``rng`` draw) and the same update as the AMP branch of
    :class:`_State`; :meth:`step` also returns the errors of the sign configuration it used.
    Only the solvers use it (their tolerances are ~1e-3); :func:`bp` keeps the float64 path.
    ``parallel=True`` spreads the pattern blocks over Numba's threads (same bits as serial).
    """

    method = "amp"

    def __init__(self, instance, rng, parallel=False):
        from . import _fast as F

        self.parallel = bool(parallel)
        self.n, self.p = instance.n, instance.p
        self.scale = 1.0 / math.sqrt(instance.n)
        self.kappa = effective_kappa(instance)
        self.binary = True
        gen = as_generator(rng)
        npad = F.padded(self.n)
        self.cbits = F.pack_rows(instance.c())
        self.c16 = self.cbits.view(np.uint16)
        self.c64 = self.cbits.view(np.uint64)
        noise = 1e-3 * gen.standard_normal(self.n)
        self.hpat = noise.copy()
        self.a = np.tanh(self.hpat)
        self.v = 1.0 - self.a * self.a
        self.g = np.zeros(self.p)
        self.mdg = np.zeros(self.p)
        self.omega = np.zeros(self.p)
        self.hs = np.zeros(self.p, dtype=np.int64)
        self.a32 = np.zeros(npad, dtype=np.float32)
        self.s64 = np.zeros(npad // 64, dtype=np.uint64)
        self.bpart = np.zeros((F.NBLK, npad), dtype=np.float32)
        self.hext = np.zeros(self.n)
        self.thr = int(instance.h_min)

    def step(self, log_eps, damping):
        """One fused iteration; returns ``(delta, errors)``; the signs
        whose errors were counted are :meth:`signs` (those of the fields before the update, as in
        :class:`_State`)."""
        from . import _fast as F

        vs = F.amp_prepare(self.hext, self.hpat, self.a, self.v, self.a32, self.s64)
        var = max(vs * self.scale * self.scale, K.V_MIN)
        rows = F.amp_rows_parallel if self.parallel else F.amp_rows
        rows(self.c16, self.c64, self.n, self.scale, self.kappa, log_eps, self.a32, self.s64, var, self.g,
             self.mdg, self.omega, self.hs, self.bpart)
        d, e = F.amp_finish(self.bpart, self.mdg, self.scale, self.a, self.v, self.hpat, self.hext, damping,
                            self.hs, self.thr)
        return d, int(e)

    def signs(self):
        """int8 +-1 configuration whose errors the last :meth:`step` counted."""
        from . import _fast as F

        return F.unpack_signs(self.s64, self.n)

    def marginals(self):
        return np.tanh(self.hext + self.hpat)


def resolve_method(method, instance):
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; choose one of {', '.join(map(repr, METHODS))}")
    if method == "auto":
        return "edge" if instance.p * instance.n <= EDGE_MAX_EDGES else "amp"
    return method


def _check_vector(name, x, n, sign=False):
    arr = np.asarray(x, dtype=np.float64) if x is not None else None
    if arr is None:
        return None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite array of shape ({n},), got shape {arr.shape}")
    if sign and not np.all(np.abs(arr) == 1):
        raise ValueError(f"{name} must have entries +-1")
    return arr


def _converge(state, log_eps, max_iter, tol, damping, deadline, now):
    hist = []
    converged = False
    for _ in range(max_iter):
        d = state.step(log_eps, damping)
        hist.append(d)
        if d < tol:
            converged = True
            break
        if deadline is not None and now() > deadline:
            break
    return converged, hist


def bp(instance, *, max_iter=1000, tol=1e-8, damping=0.5, field=None, reference=None, lam=0.0,
       beta=math.inf, method="auto", time_limit=None, clock="wall", rng=None, init=None) -> BPResult:
    """Run BP to a fixed point and return marginals and the Bethe (free) entropy.

    Parameters
    ----------
    instance : PerceptronInstance
        ``kind="perceptron"``; random or teacher labels; +-1 or Gaussian patterns; any kappa.
    max_iter : int
        Most parallel iterations.
    tol : float
        Stop when no marginal moves by more than ``tol`` in one iteration.
    damping : float in [0, 1)
        Weight of the old message in each update.
    field : array (N,), optional
        Arbitrary external field ``h_i``: the measure gets ``exp(sum_i h_i w_i)``.
    reference : array (N,) of +-1, optional
        Reference configuration for a Franz-Parisi field ``lam * reference`` (added to ``field``).
    lam : float
        Strength lambda of the field towards ``reference``.
    beta : float
        Inverse temperature of the constraints (``inf``: hard constraints, counts solutions).
    method : {"auto", "edge", "amp"}
        Message representation (see the module docstring).
    time_limit : float, optional
        Seconds; the run stops (``converged=False``) when exceeded.
    clock : {"wall", "cpu"}
        What ``time_limit`` and ``seconds`` count (:func:`spinglass_nets.solvers.result.check_clock`).
    rng : None, int, SeedSequence or Generator
        Seeds the tiny initial messages.
    init : BPResult, optional
        Warm start from the messages of an earlier run on the same instance and method.

    Returns
    -------
    BPResult
        ``free_entropy`` is ``(1/N) log Z`` with the field; ``entropy`` its Legendre transform
        ``free_entropy - lam * overlap`` (entropy of solutions at that overlap with the
        reference; without a field both are the Bethe entropy of the solution space).
    """
    check_instance(instance)
    max_iter, tol, damping, time_limit = check_common(max_iter, tol, damping, time_limit)
    now = check_clock(clock)
    log_eps = log_eps_of(beta)
    lam = _check_float("lam", lam, -math.inf, math.inf)
    method = resolve_method(method, instance)
    n = instance.n
    hfield = _check_vector("field", field, n)
    ref = _check_vector("reference", reference, n, sign=True)
    if lam != 0.0 and ref is None:
        raise ValueError("lam != 0 needs a reference configuration of shape (N,)")
    t0 = now()
    if init is not None:
        state = init.state
        if not isinstance(state, _State) or state.method != method or state.n != n or state.p != instance.p:
            raise ValueError("init must be a BPResult of the same instance and method")
    else:
        state = _State(instance, method, rng)
    hext = np.zeros(n)
    if hfield is not None:
        hext += hfield
    if ref is not None:
        hext += lam * ref
    state.hext = hext
    deadline = None if time_limit is None else t0 + time_limit
    converged, hist = _converge(state, log_eps, max_iter, tol, damping, deadline, now)
    m = state.marginals()
    phi = state.free_entropy(log_eps) / n
    overlap = float(np.dot(ref, m) / n) if ref is not None else math.nan
    # Legendre transform: subtract the field's contribution <sum_i h_i w_i> / N.
    entropy = phi - float(np.dot(hext, m)) / n
    return BPResult(m=m, free_entropy=float(phi), entropy=float(entropy), overlap=overlap,
                    converged=converged, iterations=len(hist), history=np.asarray(hist),
                    method=method, seconds=now() - t0, state=state)


@dataclass
class LocalEntropyResult:
    """Local-entropy curve of :func:`local_entropy_bp`; arrays of shape (L,), one per lambda."""

    lambdas: np.ndarray
    d: np.ndarray
    entropy: np.ndarray
    free_entropy: np.ndarray
    converged: np.ndarray


def local_entropy_bp(instance, reference, lambdas, *, max_iter=1000, tol=1e-8, damping=0.5,
                     method="auto", rng=None) -> LocalEntropyResult:
    """Local entropy around a reference on one instance (Franz-Parisi at finite N).

    For each lambda, BP with the field ``lambda * reference`` gives the free entropy
    ``phi(lambda) = (1/N) log sum_{w in SOL} exp(lambda w . ref)``; its Legendre transform
    ``S(d) = phi - lambda p``, ``p = d phi / d lambda = (1/N) ref . m``, ``d = (1 - p)/2``, is
    the entropy of solutions at distance d from the reference (Huang and Kabashima,
    PRE 90, 052813 (2014), Eq. (4); Baldassi et al., PRL 115, 128101 (2015), Eq. (2)).

    Parameters
    ----------
    instance : PerceptronInstance
    reference : array (N,) of +-1
        Usually a solution (e.g. found by :func:`focusing_bp`).
    lambdas : array (L,)
        Field strengths, visited in the given order with warm starts (continuation);
        an increasing sequence from 0 traces d from the equilibrium distance to 0.

    Returns
    -------
    LocalEntropyResult
        ``d`` (L,), ``entropy`` S(d) (L,) per weight, nats.
    """
    check_instance(instance)
    ref = _check_vector("reference", reference, instance.n, sign=True)
    if ref is None:
        raise ValueError("reference must be a +-1 array of shape (N,)")
    lams = np.asarray(lambdas, dtype=np.float64)
    if lams.ndim != 1 or lams.size == 0 or not np.all(np.isfinite(lams)):
        raise ValueError(f"lambdas must be a non-empty finite 1-d array, got shape {lams.shape}")
    out_d, out_s, out_f, out_c = [], [], [], []
    prev = None
    for lam in lams:
        res = bp(instance, max_iter=max_iter, tol=tol, damping=damping, reference=ref, lam=float(lam),
                 method=method, rng=rng, init=prev)
        prev = res
        out_d.append((1.0 - res.overlap) / 2.0)
        out_s.append(res.entropy)
        out_f.append(res.free_entropy)
        out_c.append(res.converged)
    return LocalEntropyResult(lambdas=lams, d=np.asarray(out_d), entropy=np.asarray(out_s),
                              free_entropy=np.asarray(out_f), converged=np.asarray(out_c))
