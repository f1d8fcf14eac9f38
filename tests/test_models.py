import math

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.models import PerceptronInstance
from tests.conftest import all_configs


def test_sizes_and_dtypes():
    inst = sn.make_perceptron(21, 0.5, rng=0)
    assert (inst.n, inst.p) == (21, round(0.5 * 21))
    assert inst.xi.dtype == np.int8 and inst.y.dtype == np.int8
    assert inst.xi.shape == (inst.p, 21)
    g = sn.make_perceptron(10, 1.3, patterns="gaussian", rng=0)
    assert g.xi.dtype == np.float64 and g.p == 13


def test_same_seed_same_instance_and_immutable():
    a = sn.make_perceptron(30, 0.7, rng=5)
    b = sn.make_perceptron(30, 0.7, rng=5)
    assert np.array_equal(a.xi, b.xi) and np.array_equal(a.y, b.y)
    with pytest.raises(ValueError):
        a.xi[0, 0] = 3
    with pytest.raises(Exception):
        a.kappa = 1.0


@pytest.mark.parametrize("patterns", ["binary", "gaussian"])
@pytest.mark.parametrize("kappa", [-0.3, 0.0, 0.4])
def test_observables_match_definitions(patterns, kappa):
    inst = sn.make_perceptron(9, 0.8, kappa=kappa, patterns=patterns, rng=3)
    w = all_configs(9)
    delta = inst.y * (w.astype(float) @ inst.xi.T.astype(float)) / math.sqrt(9)
    assert np.allclose(inst.stabilities(w), delta)
    viol = delta < kappa - 1e-12
    assert np.array_equal(inst.energy(w), viol.sum(-1))
    assert np.allclose(inst.energy(w, "linear"), np.where(viol, kappa - delta, 0).sum(-1))
    assert np.array_equal(inst.is_solution(w), ~viol.any(-1))


def test_tie_rule_even_n_kappa_zero():
    # N = 2: the field can be exactly 0; a zero stability satisfies kappa = 0 (inclusive).
    xi = np.array([[1, -1]], dtype=np.int8)
    inst = PerceptronInstance(xi=xi, y=np.array([1], dtype=np.int8), kappa=0.0)
    w = np.array([1, 1], dtype=np.int8)
    assert inst.fields(w)[0] == 0 and inst.is_solution(w)
    assert inst.h_min == 0


def test_teacher_is_solution_with_sign_zero_plus_one():
    for n in (4, 6, 10):  # even N: ties happen
        inst = sn.make_perceptron(n, 3.0, labels="teacher", rng=n)
        assert inst.is_solution(inst.teacher)
        h_t = inst.xi.astype(int) @ inst.teacher
        assert np.all(inst.y[h_t == 0] == 1) and np.array_equal(inst.y[h_t != 0], np.sign(h_t[h_t != 0]))


def test_integer_threshold_agrees_with_float_test():
    for n in (2, 3, 7, 16, 25, 100):
        for kappa in (-1.0, -0.2, 0.0, 0.2, 0.5, 1.0, 2.0):
            inst = sn.make_perceptron(n, 0.0, kappa=kappa, rng=0)
            hm = inst.h_min
            assert hm / math.sqrt(n) >= kappa and (hm - 1) / math.sqrt(n) < kappa


def test_symmetric_model():
    inst = sn.make_symmetric_perceptron(10, 1.0, kappa=0.8, rng=1)
    w = all_configs(10)
    d = inst.stabilities(w)
    assert np.array_equal(inst.is_solution(w), np.all(np.abs(d) <= 0.8, -1))
    assert np.allclose(inst.energy(w, "linear"), np.where(np.abs(d) > 0.8, np.abs(d) - 0.8, 0).sum(-1))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sn.make_perceptron(0, 0.5), "n=0"),
        (lambda: sn.make_perceptron(10, -0.1), "alpha=-0.1"),
        (lambda: sn.make_perceptron(10, 0.5, kappa=float("nan")), "kappa=nan"),
        (lambda: sn.make_perceptron(10, 0.5, labels="bogus"), "labels='bogus'"),
        (lambda: sn.make_perceptron(10, 0.5, patterns="ternary"), "patterns='ternary'"),
        (lambda: sn.make_symmetric_perceptron(10, 0.5, kappa=0.0), "kappa=0.0"),
        (lambda: PerceptronInstance(xi=np.zeros((3, 4), np.int8), y=np.ones(3, np.int8)), "binary patterns"),
        (lambda: PerceptronInstance(xi=np.ones((3, 4), np.int8), y=np.ones(2, np.int8)), r"shape \(P,\)"),
        (lambda: sn.make_perceptron(5, 1.0, rng=0).energy(np.ones(4)), "N = 5"),
        (lambda: sn.make_perceptron(5, 1.0, rng=0).energy(np.ones(5), kind="square"), "kind='square'"),
    ],
)
def test_bad_input_is_one_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
