"""Teacher-student binary perceptron: Bayes-optimal (Gibbs) learning of a binary teacher.

Labels ``y_mu = sign(w* . xi_mu)`` from a random binary teacher ``w*``. Gibbs sampling of
the version space is Bayes-optimal, so (Nishimori) the replica-symmetric solution has a
single order parameter ``q = R`` (student-teacher overlap) and the free entropy is
(Gyorgyi 1990, Phys. Rev. A 41, 7097, eqs. 7-9; Sompolinsky, Tishby and Seung 1990, PRL
65, 1683; proven by Barbier, Krzakala, Macris, Miolane and Zdeborova 2019, PNAS 116, 5451,
eq. 12 and section "Binary perceptron")

    s(alpha) = extr_{q, q^} [ -q^ (1+q)/2 + E_z log 2cosh(q^ + sqrt(q^) z) + alpha Psi(q) ],
    Psi(q) = 2 E_z H(a z) log H(a z),   a = sqrt(q / (1 - q)),

with saddle ``q = E_z tanh(q^ + sqrt(q^) z)``, ``q^ = 2 alpha Psi'(q)`` and
``Psi'(q) = (1/(1-q)) E_z N(a z)^2 / H(-a z)`` (PHYSICS.md section 6). The teacher alone
(``q = 1``) has entropy 0 and always is a solution; the poor-generalization branches with
``q < 1`` are found by scanning the one-dimensional fixed-point equation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from spinglass_nets.theory._special import (
    GH,
    SADDLE_TOL,
    check_alpha,
    gauss_rule,
    log_H,
    log_N,
    warn_not_converged,
)

__all__ = ["TeacherBranch", "TeacherStudentResult", "teacher_student",
           "teacher_student_thresholds"]

# Grid in r = 1 - q on which fixed points are bracketed: geometric towards q -> 1, where the
# perfect-learning fixed point q = 1 attracts and f(r) -> 0+.
_R_GRID = np.concatenate([np.geomspace(1e-6, 0.05, 60), np.linspace(0.05, 1.0, 120)[1:]])


@dataclass(frozen=True)
class TeacherBranch:
    """One replica-symmetric fixed point of the teacher-student perceptron.

    Attributes
    ----------
    q : float
        Student-teacher overlap ``R`` (= overlap of two students, Nishimori).
    q_hat : float
        Conjugate order parameter (``inf`` on the perfect-learning branch).
    entropy : float
        Free entropy per weight (nats): log of the version-space volume.
    eps_g : float
        Generalization error ``arccos(q) / pi``.
    stable : bool
        Whether the fixed point attracts the iteration ``q <- E tanh(...)`` (the
        unstable one separates the basins of the poor and perfect fixed points).
    residual : float
        ``|E_z tanh(q^ + sqrt(q^) z) - q|``.
    """

    q: float
    q_hat: float
    entropy: float
    eps_g: float
    stable: bool
    residual: float


@dataclass(frozen=True)
class TeacherStudentResult:
    """All RS fixed points at one ``alpha``; ``branches`` sorted by increasing ``q``.

    The last branch is always perfect learning (``q = 1``, entropy 0). ``equilibrium`` is
    the index of the branch of largest entropy (the thermodynamic state).
    """

    alpha: float
    branches: tuple
    equilibrium: int
    converged: bool


def _psi(q: float) -> float:
    """``Psi(q) = 2 E_z H(a z) log H(a z)`` (Gyorgyi 1990, eq. 8)."""
    a = math.sqrt(q / (1.0 - q))
    z, w = gauss_rule([0.0], [1.0 / a if a > 0 else math.inf])
    lh = log_H(a * z)
    return 2.0 * float(np.dot(w, np.exp(lh) * lh))


def _psi_prime(q: float) -> float:
    """``Psi'(q) = (1/(1-q)) E_z N(a z)^2 / H(-a z)`` (Barbier et al. 2019, eq. 12)."""
    a = math.sqrt(q / (1.0 - q))
    z, w = gauss_rule([0.0], [1.0 / a if a > 0 else math.inf])
    # N^2 / H(-a z) = N(a z) * GH(-a z): no 0/0 where H underflows.
    return float(np.dot(w, np.exp(log_N(a * z)) * GH(-a * z))) / (1.0 - q)


def _one_minus_m(qh: float) -> float:
    """``1 - E_z tanh(q^ + sqrt(q^) z)`` without cancellation (``1 - tanh x = 2 expit(-2x)``)."""
    s = math.sqrt(qh)
    z, w = gauss_rule([-s], [1.0 / s if s > 0 else math.inf])
    return float(np.dot(w, 2.0 * special.expit(-2.0 * (qh + s * z))))


def _f(r: float, alpha: float) -> float:
    """Fixed-point function ``E tanh(q^ + sqrt(q^) z) - q`` written in ``r = 1 - q``."""
    qh = 2.0 * alpha * _psi_prime(1.0 - r)
    return r - _one_minus_m(qh)


def _entropy(q: float, qh: float, alpha: float) -> float:
    # log 2cosh(x) = x + log(1 + e^{-2x}) and E x = q^ turn the large cancelling terms
    # -q^(1+q)/2 + E log 2cosh into q^ (1-q)/2 + E softplus(-2x).
    s = math.sqrt(qh)
    z, w = gauss_rule([-s], [1.0 / s if s > 0 else math.inf])
    x = qh + s * z
    return 0.5 * qh * (1.0 - q) + float(np.dot(w, np.logaddexp(0.0, -2.0 * x))) + alpha * _psi(q)


def _branch(r: float, alpha: float, stable: bool) -> TeacherBranch:
    q = 1.0 - r
    qh = 2.0 * alpha * _psi_prime(q)
    res = abs(_f(r, alpha))
    return TeacherBranch(q=q, q_hat=qh, entropy=_entropy(q, qh, alpha),
                         eps_g=math.acos(q) / math.pi, stable=stable, residual=res)


def _roots(alpha: float) -> list[tuple[float, bool]]:
    """All roots ``r`` in (0, 1) of the fixed-point function, with their stability."""
    vals = np.array([_f(r, alpha) for r in _R_GRID])
    roots = []
    for i in np.nonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0]:
        r = optimize.brentq(_f, _R_GRID[i], _R_GRID[i + 1], args=(alpha,), xtol=1e-300,
                            rtol=4 * np.finfo(float).eps)
        # In r the iteration is stable where f(r) = r - (1 - m) crosses from - to + as r
        # grows (q decreasing), i.e. where q_new - q goes from + to - as q grows.
        roots.append((r, bool(vals[i] < 0 < vals[i + 1])))
    return roots


def teacher_student(alpha: float) -> TeacherStudentResult:
    """RS / Bayes-optimal fixed points of the teacher-student binary perceptron.

    Free entropy of Gyorgyi 1990 (eqs. 7-9) and Barbier et al. 2019 (eq. 12), PHYSICS.md
    section 6. Every fixed point with ``q < 1`` is reported with its entropy and
    ``eps_g = arccos(q)/pi``, followed by the perfect-learning branch ``q = 1``.

    Parameters
    ----------
    alpha : float
        Number of examples per weight, ``>= 0``.

    Examples
    --------
    >>> res = teacher_student(1.0)
    >>> [round(b.eps_g, 4) for b in res.branches][-1]
    0.0
    """
    a = float(check_alpha(alpha))
    if a == 0.0:
        # No data: the student is uniform, q = 0 and the entropy is log 2.
        b = TeacherBranch(0.0, 0.0, math.log(2.0), 0.5, True, 0.0)
        perfect = TeacherBranch(1.0, math.inf, 0.0, 0.0, True, 0.0)
        return TeacherStudentResult(a, (b, perfect), 0, True)
    branches = [_branch(r, a, st) for r, st in sorted(_roots(a), reverse=True)]
    branches.append(TeacherBranch(1.0, math.inf, 0.0, 0.0, True, 0.0))
    conv = all(b.residual < SADDLE_TOL for b in branches)
    if not conv:
        warn_not_converged(f"teacher_student(alpha={a})",
                           max(b.residual for b in branches))
    eq = int(np.argmax([b.entropy for b in branches]))
    return TeacherStudentResult(a, tuple(branches), eq, conv)


def _poor_branch_entropy(alpha: float) -> float:
    roots = [r for r, stable in _roots(alpha) if stable]
    r = max(roots)  # the stable fixed point of smallest q: poor generalization
    return _branch(r, alpha, True).entropy


def _interior_min(alpha: float) -> float:
    """Minimum of the fixed-point function between its q -> 0 and q -> 1 ends."""
    vals = np.array([_f(r, alpha) for r in _R_GRID])
    i = int(np.argmin(vals[1:-1])) + 1
    opt = optimize.minimize_scalar(_f, bounds=(_R_GRID[i - 1], _R_GRID[i + 1]), args=(alpha,),
                                   method="bounded", options={"xatol": 1e-12})
    return float(opt.fun)


def teacher_student_thresholds() -> dict:
    """First-order transition and spinodal of the teacher-student binary perceptron.

    Returns
    -------
    dict
        ``alpha_perfect``: where the entropy of the poor-generalization branch vanishes and
        perfect learning becomes the equilibrium (Gyorgyi 1990: 1.245; Barbier et al. 2019:
        1.249). ``alpha_spinodal``: where the ``q < 1`` branch ends (saddle-node of the
        fixed-point equation; Sompolinsky, Tishby and Seung 1990: ~1.49), beyond which
        message passing finds the teacher. Both to ``|delta alpha| < 1e-10``.
    """
    a_perfect = optimize.brentq(_poor_branch_entropy, 1.1, 1.4, xtol=1e-12)
    a_spin = optimize.brentq(_interior_min, 1.3, 1.7, xtol=1e-12)
    return {"alpha_perfect": float(a_perfect), "alpha_spinodal": float(a_spin)}
