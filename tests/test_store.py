"""HDF5 store: round trips, refusals, crash safety (SIGKILL at random moments + resume)."""

import textwrap

import h5py
import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.errors import SchemaError, StoreError
from spinglass_nets.samplers import Metropolis, ParallelTempering, resume, run, schedules
from spinglass_nets.store import open_store, pack, read_instance, unpack, write_instance, write_theory
from tests.conftest import kill_at_random_moments


@pytest.mark.parametrize(
    "inst",
    [
        sn.make_perceptron(13, 0.7, rng=1),
        sn.make_perceptron(13, 0.7, kappa=-0.4, patterns="gaussian", labels="teacher", rng=2),
        sn.make_symmetric_perceptron(9, 1.2, kappa=0.9, rng=3),
    ],
    ids=["binary", "gaussian-teacher", "symmetric"],
)
def test_instance_round_trip(tmp_path, inst):
    path = write_instance(tmp_path / "s.h5", inst)
    back = read_instance(path)
    assert np.array_equal(back.xi, inst.xi) and back.xi.dtype == inst.xi.dtype
    assert np.array_equal(back.y, inst.y) and back.kappa == inst.kappa and back.kind == inst.kind
    assert (back.teacher is None) == (inst.teacher is None)
    if inst.teacher is not None:
        assert np.array_equal(back.teacher, inst.teacher)
    assert back.describe() == inst.describe()
    with open_store(path) as st:
        a = st.attrs
        assert a["schema_version"] == 1 and a["creator"] == "spinglass_nets"
        for k in ("package_version", "numpy_version", "numba_version", "h5py_version", "created"):
            assert k in a


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(0)
    for n in (1, 7, 8, 9, 64, 101):
        w = (2 * rng.integers(0, 2, size=(3, 4, n)) - 1).astype(np.int8)
        assert np.array_equal(unpack(pack(w), n), w)


def test_run_round_trip_reader_and_provenance(tmp_path):
    inst = sn.make_perceptron(37, 0.5, rng=4)
    path = tmp_path / "r.h5"
    res = run(Metropolis(beta=1.5), inst, n_chains=3, n_sweeps=40, record_every=4, rng=9, store=path, run_name="m")
    with open_store(path) as st:
        assert st.runs() == ["m"]
        r = st.run("m")
        assert r.n_written == 10 and r.finished
        assert np.array_equal(r.samples(), res.samples)
        assert np.array_equal(r.energies(), res.traces["energy"])
        assert np.array_equal(r.sweeps(), np.arange(4, 41, 4))
        assert np.array_equal(r.samples(discard=2, thin=3), res.samples[2::3])
        assert r.samples(flat=True).shape == (30, 37) and r.energies(flat=True).shape == (30,)
        a = r.attrs
        assert a["sampler"] == "metropolis" and a["params"] == {"beta": 1.5, "energy": "errors"}
        assert a["seed"] == res.seed and a["n_chains"] == 3
        # self-describing for readers without the package
        raw = st._f["runs/m/w"]
        assert "unpackbits" in raw.attrs["encoding"] and raw.attrs["n"] == 37
        with pytest.raises(ValueError, match="thin=0"):
            r.samples(thin=0)


def test_refuses_to_overwrite_runs_and_files_unless_asked(tmp_path):
    inst = sn.make_perceptron(11, 0.5, rng=5)
    path = write_instance(tmp_path / "a.h5", inst)
    with pytest.raises(StoreError, match="exists"):
        write_instance(path, inst)
    run(Metropolis(), inst, n_sweeps=2, store=path, run_name="x", rng=0)
    with pytest.raises(StoreError, match="run 'x' exists"):
        run(Metropolis(), inst, n_sweeps=2, store=path, run_name="x", rng=0)
    run(Metropolis(beta=3.0), inst, n_sweeps=2, store=path, run_name="x", rng=0, overwrite=True)
    with open_store(path) as st:
        assert st.run("x").attrs["params"]["beta"] == 3.0
    other = sn.make_perceptron(11, 0.5, rng=6)
    with pytest.raises(StoreError, match="different instance"):
        run(Metropolis(), other, n_sweeps=2, store=path, run_name="y", rng=0)


def test_read_only_store_cannot_write(tmp_path):
    path = write_instance(tmp_path / "ro.h5", sn.make_perceptron(8, 0.5, rng=0))
    with open_store(path) as st:
        with pytest.raises(StoreError, match="read-only"):
            st.write_analysis("a", {"x": np.arange(3)}, {})
    with open_store(path, "r+") as st:
        st.write_analysis("a", {"x": np.arange(3)}, {"k": 1})
        arrays, params = st.analysis("a")
        assert arrays["x"].tolist() == [0, 1, 2] and params == {"k": 1}


def test_theory_writer_creates_store(tmp_path):
    path = tmp_path / "t.h5"
    write_theory(path, "rs", {"alpha": np.linspace(0, 1, 5), "s": np.ones(5)}, {"kappa": 0.0})
    with open_store(path) as st:
        arrays, params = st.theory("rs")
        assert params == {"kappa": 0.0} and arrays["alpha"].shape == (5,)
        assert st.theories() == ["rs"]


def test_schema_refusals(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = 1
    with pytest.raises(SchemaError, match="not a spinglass_nets store"):
        open_store(plain)
    newer = write_instance(tmp_path / "newer.h5", sn.make_perceptron(8, 0.5, rng=0))
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(SchemaError, match="newer"):
        open_store(newer)
    missing = write_instance(tmp_path / "missing.h5", sn.make_perceptron(8, 0.5, rng=0))
    with h5py.File(missing, "r+") as f:
        del f.attrs["schema_version"]
    with pytest.raises(SchemaError, match="no schema_version"):
        open_store(missing)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(StoreError, match="not a readable HDF5"):
        open_store(junk)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nope.h5")
    st = open_store(write_instance(tmp_path / "ok.h5", sn.make_perceptron(8, 0.5, rng=0)))
    with pytest.raises(StoreError, match="no run 'zz'"):
        st.run("zz")
    st.close()


def test_bad_input_leaves_no_file(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        write_instance(tmp_path / "no_dir" / "x.h5", sn.make_perceptron(8, 0.5, rng=0))
    inst = sn.make_perceptron(8, 0.5, rng=0)
    with pytest.raises(ValueError, match="multiple of record_every"):
        run(Metropolis(), inst, n_sweeps=5, record_every=2, store=tmp_path / "r.h5")
    assert list(tmp_path.iterdir()) == []


def test_resume_and_extend_equal_one_long_run(tmp_path):
    inst = sn.make_perceptron(45, 0.6, patterns="gaussian", rng=7)
    sampler = ParallelTempering(schedules.ladder(0.5, 3.0, 4), swap_every=3)
    full = run(sampler, inst, n_chains=2, n_sweeps=60, record_every=5, rng=11)
    path = tmp_path / "e.h5"
    run(sampler, inst, n_chains=2, n_sweeps=30, record_every=5, rng=11, store=path, run_name="pt")
    resume(path, "pt", n_sweeps=60)
    with open_store(path) as st:
        assert np.array_equal(st.run("pt").samples(), full.samples)
        assert np.array_equal(st.run("pt").energies(), full.traces["energy"])


def test_callback_can_stop_and_resume_continues(tmp_path):
    inst = sn.make_perceptron(33, 0.5, rng=8)
    full = run(Metropolis(beta=2.0), inst, n_chains=2, n_sweeps=40, record_every=2, rng=3)
    path = tmp_path / "cb.h5"
    seen = []

    def stop_after_5(state, info):
        seen.append(state.sweep)
        return len(seen) == 5

    part = run(Metropolis(beta=2.0), inst, n_chains=2, n_sweeps=40, record_every=2, rng=3, store=path,
               run_name="m", callback=stop_after_5)
    assert seen == [2, 4, 6, 8, 10] and part.final_state.sweep == 10
    resume(path, "m")
    with open_store(path) as st:
        assert np.array_equal(st.run("m").samples(), full.samples)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import spinglass_nets as sn
    from spinglass_nets.samplers import ParallelTempering, resume, run, schedules

    path, mode = sys.argv[1], sys.argv[2]
    signal_first = lambda state, info: print("record", flush=True)
    if mode == "start":
        inst = sn.make_perceptron(301, 0.6, rng=21)
        sampler = ParallelTempering(schedules.ladder(0.5, 3.0, 4), swap_every=2)
        run(sampler, inst, n_chains=3, n_sweeps=600, record_every=2, rng=77, store=path, run_name="pt",
            checkpoint_every=3, callback=signal_first, progress=False)
    else:
        resume(path, "pt", checkpoint_every=3, callback=signal_first, progress=False)
    print("done", flush=True)
    """
)


def test_sigkill_at_random_moments_then_resume_gives_identical_samples(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(KILL_SCRIPT)
    path = tmp_path / "kill.h5"
    inst = sn.make_perceptron(301, 0.6, rng=21)
    sampler = ParallelTempering(schedules.ladder(0.5, 3.0, 4), swap_every=2)
    reference = run(sampler, inst, n_chains=3, n_sweeps=600, record_every=2, rng=77, keep_samples=True)
    gen = np.random.default_rng(2024)  # fixed kill moments: the test itself is reproducible
    kills = kill_at_random_moments(script, path, gen, max_records=40)
    assert kills >= 2, "the job finished before it could be killed: make it longer"
    with open_store(path) as st:
        mid = st.run("pt")
        assert mid.n_written < 300  # counters point at complete data only
        partial = mid.samples()
        assert np.array_equal(partial, reference.samples[: len(partial)])
    resume(path, "pt", progress=False)
    with open_store(path) as st:
        r = st.run("pt")
        assert r.finished and r.n_written == 300
        assert np.array_equal(r.samples(), reference.samples)
        assert np.array_equal(r.energies(), reference.traces["energy"])
