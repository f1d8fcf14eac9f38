"""Reading a store while another process writes it (live views), and writers waiting for readers.

Real processes: the writer is ``python -m spinglass_nets sample`` on a real HDF5 file.
"""

import json
import subprocess
import sys
import time

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
    monkeypatch.setattr(store, "WRITE_WAIT_S", 0.2)
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


def test_live_guard_turns_h5_errors_into_one_store_error():
    class View:
        def __init__(self, live):
            self._live = live

        @store._live_guarded
        def read(self):
            raise KeyError("Unable to synchronously open object (addr overflow)")

    with pytest.raises(StoreError, match="changed under this live view .*open it again"):
        View(True).read()
    with pytest.raises(KeyError):  # a store nobody writes: errors are not disguised
        View(False).read()


def test_analyze_prints_from_a_store_being_written_with_no_write(live_store):
    _, path, proc = live_store
    _wait_live(path, proc).close()
    out = subprocess.run([sys.executable, "-m", "spinglass_nets", "analyze", str(path), "--run", "m",
                          "--what", "overlaps", "--no-write", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["analysis"] is None
