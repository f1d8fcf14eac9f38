"""Replica-theory predictions for the binary perceptron family, solved with scipy.

Every quantity is deterministic (log-domain special functions, Gauss-Legendre panels
refined near kinks, scipy root finders); saddle points are solved to a residual below
1e-10 and reported with ``converged``/``residual``; non-convergence warns with
:class:`spinglass_nets.errors.ConvergenceWarning` and never raises. Entropies are per
weight in nats; ``d`` is the Hamming distance as a fraction of N. Equations and published
numbers: PHYSICS.md sections 1-6 and ``data/reference_values.json``.

========================================  =============================================
``rs_entropy(alpha, kappa)``              Gardner-Derrida RS entropy and order parameters
``annealed_entropy(alpha, kappa)``        first moment ``log 2 + alpha log H(kappa)``
``capacity(kappa)``                       zero-entropy capacity (Krauth-Mezard)
``max_margin(alpha)``                     inverse of ``capacity``
``margin_density`` / ``margin_cdf``       RS stability distribution of typical solutions
``local_entropy(d, alpha, kappa, ...)``   Franz-Parisi local entropy (typical / robust ref)
``flat_minima_threshold(kappa)``          loss of monotonicity around kappa_max references
``symmetric_entropy`` / ``_capacity``     symmetric binary perceptron (exact first moment)
``teacher_student(alpha)``                Bayes-optimal RS branches, eps_g
``teacher_student_thresholds()``          perfect-learning transition and spinodal
``spherical_capacity(kappa)``             Gardner's continuous-weight capacity
========================================  =============================================
"""

from spinglass_nets.theory.local_entropy import (
    LocalEntropyResult,
    binary_entropy,
    flat_minima_threshold,
    local_entropy,
)
from spinglass_nets.theory.rs import (
    RSResult,
    annealed_entropy,
    capacity,
    gardner_derrida_alpha,
    margin_cdf,
    margin_density,
    max_margin,
    rs_entropy,
)
from spinglass_nets.theory.spherical import gardner_integral, spherical_capacity
from spinglass_nets.theory.symmetric import symmetric_capacity, symmetric_entropy
from spinglass_nets.theory.teacher import (
    TeacherBranch,
    TeacherStudentResult,
    teacher_student,
    teacher_student_thresholds,
)

__all__ = [
    "RSResult",
    "LocalEntropyResult",
    "TeacherBranch",
    "TeacherStudentResult",
    "rs_entropy",
    "annealed_entropy",
    "capacity",
    "max_margin",
    "gardner_derrida_alpha",
    "margin_density",
    "margin_cdf",
    "local_entropy",
    "binary_entropy",
    "flat_minima_threshold",
    "symmetric_entropy",
    "symmetric_capacity",
    "teacher_student",
    "teacher_student_thresholds",
    "spherical_capacity",
    "gardner_integral",
]
