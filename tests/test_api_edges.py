"""Edge cases of the Python API found by an audit (session 4): each test is a defect that
was reproduced, then fixed."""

import h5py
import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import analysis as A
from spinglass_nets import exact
from spinglass_nets.models import PerceptronInstance
from spinglass_nets.samplers import (
    EntropyDrivenMC, Metropolis, ParallelTempering, ReferenceTempering, ReplicatedAnnealing, SolutionWalk, run,
    schedules,
)
from spinglass_nets.store import open_store


def _tree(path):
    """Every object name and its shape (groups: None) in an HDF5 file: the file's content."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda k, v: out.__setitem__(k, getattr(v, "shape", None)))
    return out


def test_failed_start_leaves_new_and_existing_stores_as_they_were(tmp_path):
    inst = sn.make_perceptron(6, 0.5, kappa=0.3, rng=0)
    assert exact.count_solutions(inst) == 0
    walk = SolutionWalk(find_sweeps=10)
    new = tmp_path / "new.h5"
    with pytest.raises(ValueError, match="found no solution"):
        run(walk, inst, n_sweeps=5, store=new, run_name="walk", rng=0)
    assert not new.exists()
    # an existing run is not lost when its replacement fails to start (overwrite=True)
    old = tmp_path / "old.h5"
    run(Metropolis(1.0), inst, n_chains=2, n_sweeps=4, store=old, run_name="walk", rng=1)
    before = _tree(old)
    with open_store(old) as st:
        samples = st.run("walk").samples()
    for bad in (dict(init=np.zeros(inst.n)), dict(n_chains=0)):
        with pytest.raises(ValueError):
            run(walk, inst, n_sweeps=5, store=old, run_name="walk", rng=0, overwrite=True, **bad)
    with pytest.raises(ValueError, match="found no solution"):
        run(walk, inst, n_sweeps=5, store=old, run_name="walk", rng=0, overwrite=True)
    assert _tree(old) == before
    with open_store(old) as st:
        assert np.array_equal(st.run("walk").samples(), samples)
    # the existing run is refused before any work (no overwrite)
    with pytest.raises(sn.errors.StoreError, match="exists"):
        run(walk, inst, n_sweeps=5, store=old, run_name="walk", rng=0)


def test_solution_walk_chains_do_not_depend_on_the_other_chains():
    inst = sn.make_perceptron(41, 0.5, rng=1)
    walk = SolutionWalk(find_sweeps=50)
    a = run(walk, inst, n_chains=2, n_sweeps=20, rng=11)
    b = run(walk, inst, n_chains=4, n_sweeps=20, rng=11)
    assert np.array_equal(a.samples, b.samples[:, :2])


def test_solution_walk_keeps_the_given_solutions_and_anneals_only_the_others():
    inst = sn.make_perceptron(16, 0.4, rng=2)
    sols = exact.enumerate_solutions(inst)
    bad = next(w for w in exact.index_to_config(np.arange(2**16), 16) if not inst.is_solution(w))
    st = SolutionWalk(find_sweeps=50).init(inst, 3, rng=0, init=np.stack([sols[0], sols[1], bad]))
    assert np.array_equal(st.w[:2], sols[:2])
    assert inst.is_solution(st.w).all()


def test_step_refuses_a_state_of_another_instance_and_bad_sweep_counts():
    m = Metropolis(1.0)
    small = sn.make_perceptron(5, 0.6, rng=0)
    s = m.init(small, 2, rng=0)
    with pytest.raises(ValueError, match="does not belong to this instance"):
        m.step(sn.make_perceptron(7, 0.6, rng=0), s, 1)
    for n in (0, -3, 2.7, True):
        with pytest.raises(ValueError, match="n_sweeps"):
            m.step(small, s, n)


@pytest.mark.parametrize("bad", [0, -1, -2.5, float("nan"), "x", True])
def test_checkpoint_every_is_validated(bad, tmp_path):
    inst = sn.make_perceptron(9, 0.5, rng=0)
    path = tmp_path / "c.h5"
    with pytest.raises(ValueError, match="checkpoint_every"):
        run(Metropolis(1.0), inst, n_sweeps=4, store=path, checkpoint_every=bad)
    assert not path.exists()


def test_checkpoint_every_numpy_integer_counts_records(tmp_path):
    inst = sn.make_perceptron(9, 0.5, rng=0)
    path = tmp_path / "c.h5"
    a = run(Metropolis(1.0), inst, n_sweeps=6, store=path, checkpoint_every=np.int64(2), rng=4)
    b = run(Metropolis(1.0), inst, n_sweeps=6, rng=4)
    assert np.array_equal(a.samples, b.samples)


def test_edge_bp_edmc_runs_with_one_pattern():
    inst = sn.make_perceptron(3, 0.34, rng=0)
    assert inst.p == 1
    r = run(EntropyDrivenMC(gamma0=0.1, bp_method="edge"), inst, n_sweeps=1, rng=0)
    assert r.final_state.w.shape == (1, 3)


def test_index_helpers_refuse_out_of_range_input():
    assert np.array_equal(exact.index_to_config(5, 3), [-1, 1, -1])
    for k, n in ((8, 3), (-1, 3), (1.5, 3), (0, 0), (0, 63)):
        with pytest.raises(ValueError):
            exact.index_to_config(k, n)
    for w in (np.zeros(3), -np.ones(70), np.array(1)):
        with pytest.raises(ValueError):
            exact.config_to_index(w)


@pytest.mark.parametrize("make, name", [
    (lambda: sn.make_perceptron(3, 1, kappa=None), "kappa"),
    (lambda: sn.make_symmetric_perceptron(3, 1, kappa="a"), "kappa"),
    (lambda: Metropolis(beta=None), "beta"),
    (lambda: Metropolis(beta="abc"), "beta"),
    (lambda: sn.make_perceptron(3, 1e20), "alpha"),
    (lambda: ReplicatedAnnealing.for_sweeps(10, gamma_start=-1), "gamma_start"),
    (lambda: ReplicatedAnnealing.for_sweeps(10, gamma_end=-1), "gamma_end"),
    (lambda: ReplicatedAnnealing.for_sweeps(0), "n_sweeps"),
    (lambda: ReferenceTempering(np.ones(3), [0.5], find_sweeps=-5), "find_sweeps"),
    (lambda: ReferenceTempering(np.ones(3), [0.5], beta=None), "beta"),
    (lambda: schedules.linear(0, "x", 3), "beta_end"),
])
def test_errors_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=f"^{name}="):
        make()


def test_teacher_labels_must_agree_with_the_teacher():
    xi = np.array([[1, 1, -1], [1, -1, -1]], dtype=np.int8)
    t = np.ones(3, dtype=np.int8)
    ok = PerceptronInstance(xi=xi, y=np.array([1, -1]), teacher=t, labels="teacher")
    assert ok.is_solution(t)
    with pytest.raises(ValueError, match="disagrees with sign"):
        PerceptronInstance(xi=xi, y=np.array([-1, -1]), teacher=t, labels="teacher")
    PerceptronInstance(xi=xi, y=np.array([-1, -1]), teacher=t, labels="random")  # any labels
    for patterns in ("binary", "gaussian"):
        inst = sn.make_perceptron(31, 1.0, labels="teacher", patterns=patterns, rng=3)
        back = PerceptronInstance(xi=inst.xi, y=inst.y, teacher=inst.teacher, labels="teacher", patterns=patterns)
        assert back.is_solution(inst.teacher)


def test_one_coupling_reference_tempering_has_no_round_trips():
    inst = sn.make_perceptron(12, 0.3, rng=2)
    ref = exact.enumerate_solutions(inst, limit=1)[0]
    r = run(ReferenceTempering(ref, lams=[0.5], beta=2.0), inst, n_chains=2, n_sweeps=4, rng=0)
    assert r.stats["round_trips"] == [0, 0]


def test_multi_member_init_error_names_the_row_count():
    inst = sn.make_perceptron(5, 0.4, rng=0)
    pt = ParallelTempering(schedules.ladder(0.5, 2.0, 2))
    with pytest.raises(ValueError, match=r"n_chains \* K \(K = 2"):
        pt.init(inst, 2, rng=0, init=np.ones((2, 5), dtype=np.int8))
    st = pt.init(inst, 2, rng=0, init=np.ones((4, 5), dtype=np.int8))
    assert st.w.shape == (4, 5)


def test_density_profile_blames_the_reference_length():
    inst = sn.make_perceptron(10, 0.3, rng=0)
    samples = np.ones((6, 10), dtype=np.int8)
    with pytest.raises(ValueError, match="reference has length N = 5"):
        A.density_profile(np.ones(5, dtype=np.int8), samples)


def test_effective_sample_size_never_exceeds_the_samples():
    for x in (np.arange(3.0), np.array([0.0, 1, 0, 1]), np.tile([1.0, -1.0], 50)):
        assert A.effective_sample_size(x) <= x.size
    rng = np.random.default_rng(0)
    assert A.effective_sample_size(rng.standard_normal((4000, 2))) > 4000  # white noise: ~T C


def test_gaussian_verdicts_do_not_depend_on_the_batch():
    # Decimal pattern values put many fields within rounding of the threshold: a BLAS
    # product decided them differently alone and in a batch (120 vs 124 solutions here).
    xi = np.array([[1.0, 0.1, -0.3, 0.5, -0.5, -0.5, 0.2, -1.0]])
    inst = PerceptronInstance(xi=xi, y=np.array([1]), kappa=0.1 / np.sqrt(8), patterns="gaussian")
    W = exact.index_to_config(np.arange(256), 8)
    batch = inst.is_solution(W)
    alone = np.array([inst.is_solution(w) for w in W])
    assert np.array_equal(batch, alone)
    assert np.array_equal(inst.is_solution(W.reshape(16, 16, 8)).ravel(), batch)
    assert exact.count_solutions(inst) == batch.sum()
    assert np.array_equal(exact.enumerate_solutions(inst), W[batch])
    big = sn.make_perceptron(40, 0.7, patterns="gaussian", rng=3)
    w = exact.index_to_config(np.arange(50) * 7919, 40)
    np.testing.assert_allclose(big.fields(w), (w.astype(float) @ big.xi.T) * big.y, rtol=0, atol=1e-12)


def test_a_run_without_checkpoint_is_not_called_resumable(tmp_path):
    import json
    import subprocess
    import sys

    from spinglass_nets.store import RunSpec, open_run_writer

    inst = sn.make_perceptron(9, 0.5, rng=0)
    path = tmp_path / "s.h5"
    run(Metropolis(1.0), inst, n_sweeps=6, store=path, run_name="stopped", rng=0, checkpoint_every=1,
        callback=lambda st, info: st.sweep >= 2)
    spec = RunSpec(sampler="metropolis", params=Metropolis(1.0).params(), n_chains=1, n_sweeps=4, record_every=1,
                   seed={"entropy": 1, "spawn_key": []}, n_temperatures=1, energy="errors", extra_traces={})
    open_run_writer(path, "bare", spec, inst).close()  # as if killed before the first checkpoint
    with open_store(path) as st:
        assert st.run("stopped").resumable and not st.run("stopped").finished
        assert not st.run("bare").resumable and not st.run("bare").finished
    out = subprocess.run([sys.executable, "-m", "spinglass_nets", "info", str(path)], capture_output=True, text=True)
    assert out.returncode == 0
    lines = {ln.split(":")[0]: ln for ln in out.stdout.splitlines()}
    assert lines["run stopped"].endswith("resumable") and lines["run bare"].endswith("no checkpoint")
    js = json.loads(subprocess.run([sys.executable, "-m", "spinglass_nets", "info", str(path), "--json"],
                                   capture_output=True, text=True).stdout)
    assert js["runs"]["bare"]["resumable"] is False and js["runs"]["stopped"]["resumable"] is True
