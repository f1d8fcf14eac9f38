"""Reading a store while another process writes it (live views), and writers waiting for readers.

Real processes: the writer is ``python -m spinglass_nets sample`` on a real HDF5 file.
"""

import json
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import store
from spinglass_nets.errors import StoreError
from spinglass_nets.store import check_run_writable, open_store, write_instance


def _sample(path, sweeps, record_every, name="m"):
    return subprocess.Popen(
        [sys.executable, "-m", "spinglass_nets", "sample", str(path), "--sampler", "metropolis", "--beta", "0.5",
         "--chains", "2", "--sweeps", str(sweeps), "--record-every", str(record_every), "--seed", "3",
         "--run-name", name, "--checkpoint-every", "0.05"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_live(path, proc, timeout=120.0):
    """A live view of ``path`` once the writer has committed records of run ``m``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            st = open_store(path)
        except StoreError:  # the writer is creating the run: try again
            time.sleep(0.02)
            continue
        try:
            if st.live and "m" in st.runs() and st.run("m").n_written > 0:
                return st
        except StoreError:
            pass
        st.close()
        time.sleep(0.02)
    raise AssertionError("the writer never committed a record")


@pytest.fixture
def live_store(tmp_path):
    inst = sn.make_perceptron(301, 0.5, rng=8)
    path = tmp_path / "live.h5"
    write_instance(path, inst)
    proc = _sample(path, 10_000_000, 1000)  # ~10^4 records: runs until killed
    try:
        yield inst, path, proc
    finally:
        proc.kill()
        proc.wait()


def test_live_view_is_a_consistent_snapshot_that_refresh_advances(live_store):
    inst, path, proc = live_store
    with _wait_live(path, proc) as st:
        r = st.run("m")
        n0 = r.n_written
        w, e = r.samples(), r.energies()
        assert w.shape == (n0, 2, inst.n) and e.shape == (n0, 2)
        # every committed record is whole: its energy is that of its configuration
        assert np.array_equal(inst.energy(w.reshape(-1, inst.n)).reshape(e.shape), e)
        assert not r.finished and r.resumable
        time.sleep(0.3)  # the writer commits every 0.05 s
        assert r.n_written == n0 and r.samples().shape[0] == n0 and r.energies().shape[0] == n0
        deadline = time.monotonic() + 30
        while r.refresh().n_written == n0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.n_written > n0
        w, e = r.samples(), r.energies()
        assert np.array_equal(inst.energy(w.reshape(-1, inst.n)).reshape(e.shape), e)


def test_info_reads_a_store_being_written(live_store):
    _, path, proc = live_store
    _wait_live(path, proc).close()
    out = subprocess.run([sys.executable, "-m", "spinglass_nets", "info", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["live"] is True and d["runs"]["m"]["finished"] is False and d["runs"]["m"]["records"] > 0
    text = subprocess.run([sys.executable, "-m", "spinglass_nets", "info", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "another process is writing this store" in text.stdout


def test_writes_to_a_store_being_written_are_refused_clearly(live_store, monkeypatch):
    inst, path, proc = live_store
    _wait_live(path, proc).close()
    monkeypatch.setattr(store._h5, "WRITE_WAIT_S", 0.2)  # read by _h5._h5_open
    with pytest.raises(StoreError, match="open in another process .*cannot write to it"):
        open_store(path, "r+")
    with pytest.raises(StoreError, match="open in another process .*cannot write to it"):
        check_run_writable(path, "other", inst)  # the pre-check of run(): no waiting, no live view
    out = subprocess.run([sys.executable, "-m", "spinglass_nets", "analyze", str(path), "--run", "m",
                          "--what", "overlaps"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "open in another process" in out.stderr


def test_a_writer_waits_for_a_reader_to_close(tmp_path):
    inst = sn.make_perceptron(101, 0.5, rng=9)
    path = tmp_path / "wait.h5"
    write_instance(path, inst)
    with open_store(path) as st:  # holds HDF5's shared lock, which blocks writers
        assert not st.live
        proc = _sample(path, 200, 10)
        time.sleep(1.0)
        assert proc.poll() is None  # still waiting for the lock
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    with open_store(path) as st:
        assert st.run("m").finished and st.run("m").n_written == 20


def test_live_guard_checks_the_structure_after_every_read():
    class View:
        path = "x.h5"

        def __init__(self, live, changed):
            self._live, self.changed = live, changed

        def _verify(self):
            if self.changed:
                raise store._changed(self.path)

        @store._live_guarded
        def read(self, fail):
            if fail:
                raise KeyError("Unable to synchronously open object (addr overflow)")
            return 42

    for fail in (False, True):  # a changed structure voids a result and explains an error
        with pytest.raises(StoreError, match="changed its structure under this live view.*open it again"):
            View(True, True).read(fail)
    assert View(True, False).read(False) == 42
    with pytest.raises(KeyError):  # unchanged structure: errors are not disguised
        View(True, False).read(True)
    with pytest.raises(KeyError):  # a store nobody writes: never checked
        View(False, True).read(True)


def test_analyze_prints_from_a_store_being_written_with_no_write(live_store):
    _, path, proc = live_store
    _wait_live(path, proc).close()
    out = subprocess.run([sys.executable, "-m", "spinglass_nets", "analyze", str(path), "--run", "m",
                          "--what", "overlaps", "--no-write", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["analysis"] is None


HOLDER = """
import sys
import h5py
import numpy as np
from spinglass_nets.store import open_store
st = open_store(sys.argv[1], "r+")  # holds HDF5's write lock, as a run does
print("ready", flush=True)
sys.stdin.readline()
st.write_analysis("late", {"a": np.arange(3)}, {"by": "holder"})  # a structural change
print("done", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def held_store(tmp_path):
    """A store with a finished run, held open for writing by another process that adds an
    analysis when told to (a live view of it sees a structural change at a known moment)."""
    from spinglass_nets.samplers import Metropolis, run

    inst = sn.make_perceptron(61, 0.5, rng=4)
    path = tmp_path / "held.h5"
    run(Metropolis(1.0), inst, n_chains=2, n_sweeps=40, record_every=4, rng=1, store=path, run_name="m",
        progress=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        yield inst, path, holder
    finally:
        holder.kill()
        holder.wait()


def test_a_structural_change_voids_a_live_view_instead_of_returning_wrong_data(held_store):
    """Audit (session 5): a view held across a run overwritten or extended by another process
    returned garbage silently. Every structural change is bracketed by the root generation
    (a seqlock), so the old view raises; a new one sees the change."""
    inst, path, holder = held_store
    st = open_store(path)
    assert st.live
    r = st.run("m")
    w = r.samples()
    assert w.shape == (10, 2, inst.n) and st.analyses() == []
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "done", holder.stderr.read()
    for read in (r.samples, r.energies, r.refresh, st.analyses, st.describe, lambda: st.run("m")):
        with pytest.raises(StoreError, match="changed its structure under this live view.*open it again"):
            read()
    assert r.n_written == 10  # the snapshot's own numbers stay readable
    with pytest.raises(StoreError, match="a live view of store .* is open in this process: close it"):
        open_store(path)  # HDF5 would hand this process the old view's metadata
    st.close()
    with open_store(path) as st2:
        assert st2.live and st2.analyses() == ["late"]
        assert np.array_equal(st2.run("m").samples(), w)


def test_commands_that_would_write_a_store_being_written_are_refused_at_once(held_store, capsys, monkeypatch):
    """Audit (session 5): `instance --overwrite` replaced a store that a run was writing (the
    run then "finished" into a deleted file); `theory --store` and `sample --resume` computed
    or waited for the lock before failing. "At once": the writer's wait loop must not run."""
    from spinglass_nets.cli import main

    def no_wait(*a, **k):
        raise AssertionError("waited for the write lock instead of refusing at once")

    inst, path, _ = held_store
    before = path.read_bytes()
    monkeypatch.setattr(store._h5.time, "sleep", no_wait)
    for args in (["instance", "--n", "11", "--alpha", "0.5", "--seed", "1", "-o", str(path), "--overwrite"],
                 ["theory", "rs", "--alpha", "0.5", "--store", str(path)],
                 ["sample", str(path), "--run-name", "m", "--resume", "--sweeps", "80"]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "open in another process" in err, (args, err)
    assert path.read_bytes() == before


def test_a_writer_killed_inside_a_structural_change_does_not_block_live_views_forever(tmp_path):
    inst = sn.make_perceptron(21, 0.5, rng=2)
    path = tmp_path / "odd.h5"
    write_instance(path, inst)
    with h5py.File(path, "r+") as f:  # what a SIGKILL between the brackets leaves
        f[store.GENERATION][0] = 3
    with open_store(path, "r+"):  # the next writer (it holds the lock) makes it even again
        pass
    with h5py.File(path, "r") as f:
        assert f[store.GENERATION][0] == 4
