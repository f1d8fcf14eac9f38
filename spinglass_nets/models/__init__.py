"""Instances of the binary perceptron family, and the conventions sheet.

Conventions (DESIGN.md section 3; every module follows them)
------------------------------------------------------------
- Weights ``w``: int8 +-1, shape (N,); (C, N) for C chains; (C, R, N) for replicas.
- Patterns ``xi``: (P, N), int8 +-1 (``patterns="binary"``) or float64 standard Gaussian
  (``patterns="gaussian"``); labels ``y``: int8 +-1, shape (P,). ``alpha = P / N`` with
  ``P = round(alpha * N)`` (Python's round: halves go to the even integer).
- Stability ``Delta_mu = y_mu (xi_mu . w) / sqrt(N)``.
- Perceptron: ``w`` is a solution iff ``Delta_mu >= kappa`` for every mu (inclusive).
  Symmetric perceptron: iff ``|Delta_mu| <= kappa`` for every mu (inclusive).
- **Tie rule.** Constraints are inclusive, so a field exactly at the threshold satisfies it:
  at ``kappa = 0`` a pattern with ``xi . w = 0`` (possible for even N with binary patterns)
  is satisfied. Teacher labels use ``y = sign(xi . teacher)`` with ``sign(0) = +1``, so the
  teacher is always a solution at ``kappa <= 0``. Any N >= 1 is allowed.
- **Exact integer tests.** For binary patterns the integer field ``h_mu = y_mu (xi_mu . w)``
  is compared with integer thresholds: ``h_min`` = the smallest integer h with
  ``h / sqrt(N) >= kappa`` in float64 (and ``h_max`` = the largest with
  ``h / sqrt(N) <= kappa`` for the symmetric model), so integer tests and float tests on
  :meth:`stabilities` agree exactly.
- Energies: ``"errors"`` = number of violated constraints; ``"linear"`` = sum over violated
  mu of ``kappa - Delta_mu`` (symmetric model: ``|Delta_mu| - kappa``).
- Distances: Hamming ``d`` in [0, 1] as a fraction of N; overlap ``q = w.w'/N = 1 - 2d``.
- Entropies per weight, natural log. ``beta`` inverse temperature; a sweep = N proposals.
"""

from .perceptron import PerceptronInstance, make_perceptron, make_symmetric_perceptron

__all__ = ["PerceptronInstance", "make_perceptron", "make_symmetric_perceptron"]
