"""CLI end to end on tiny instances, and bad input: one line on stderr, exit 2, no file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.cli import main
from spinglass_nets.store import open_store


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_instance_sample_info_enumerate_round_trip(tmp_path, capsys):
    f = tmp_path / "i.h5"
    code, out, err = cli(capsys, "instance", "--n", 15, "--alpha", 0.6, "--seed", 3, "-o", f, "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["n"] == 15 and d["p"] == 9 and os.path.exists(f)
    inst = sn.make_perceptron(15, 0.6, rng=3)
    assert np.array_equal(open_store(f).instance().xi, inst.xi)

    code, out, _ = cli(capsys, "sample", f, "--sampler", "anneal", "--sweeps", 200, "--chains", 4, "--seed", 1,
                       "--record-every", 10, "--json")
    assert code == 0
    s = json.loads(out)
    assert s["run"] == "anneal" and s["sweeps_done"] == 200 and len(s["final_energy"]) == 4

    code, out, _ = cli(capsys, "sample", f, "--sampler", "walk", "--sweeps", 20, "--chains", 2, "--seed", 2,
                       "--record-every", 2, "--json")
    assert code == 0 and json.loads(out)["solved_chains"] == 2
    with open_store(f) as st:
        walk = st.run("walk").samples(flat=True)
        assert inst.is_solution(walk).all()

    code, out, _ = cli(capsys, "sample", f, "--sampler", "tempering", "--n-temps", 3, "--sweeps", 20, "--chains", 2,
                       "--seed", 2, "--record-every", 5, "--json")
    assert code == 0 and "swap_acceptance" in json.loads(out)["stats"]

    code, out, _ = cli(capsys, "info", f, "--json")
    info = json.loads(out)
    assert set(info["runs"]) == {"anneal", "walk", "tempering"} and info["runs"]["anneal"]["finished"]
    code, out, _ = cli(capsys, "info", f)
    assert "run walk: walk" in out and "instance: perceptron N=15" in out

    code, out, _ = cli(capsys, "enumerate", f, "--json")
    from spinglass_nets import exact

    assert json.loads(out)["count"] == exact.count_solutions(inst)
    code, out, _ = cli(capsys, "enumerate", f, "--what", "distance", "--reference", "walk:1", "--json")
    prof = json.loads(out)["counts"]
    assert sum(prof) == exact.count_solutions(inst) and prof[0] == 1  # the reference is a solution
    code, out, _ = cli(capsys, "enumerate", f, "--what", "dos", "--json")
    assert sum(json.loads(out)["counts"]) == 2**15


def test_sample_resume_extends_run_like_one_long_run(tmp_path, capsys):
    f = tmp_path / "r.h5"
    cli(capsys, "instance", "--n", 21, "--alpha", 0.5, "--seed", 1, "-o", f)
    assert cli(capsys, "sample", f, "--beta", 2, "--sweeps", 40, "--seed", 5, "--run-name", "a")[0] == 0
    assert cli(capsys, "sample", f, "--run-name", "a", "--resume", "--sweeps", 80)[0] == 0
    assert cli(capsys, "sample", f, "--beta", 2, "--sweeps", 80, "--seed", 5, "--run-name", "b")[0] == 0
    with open_store(f) as st:
        assert np.array_equal(st.run("a").samples(), st.run("b").samples())


def test_symmetric_and_gaussian_instances(tmp_path, capsys):
    f = tmp_path / "s.h5"
    code, out, _ = cli(capsys, "instance", "--n", 12, "--alpha", 0.5, "--symmetric", "--kappa", 1.0,
                       "--patterns", "gaussian", "--seed", 0, "-o", f, "--json")
    assert code == 0 and json.loads(out)["kind"] == "symmetric"
    assert cli(capsys, "sample", f, "--sweeps", 10, "--energy", "linear", "--json")[0] == 0


BAD = [
    (["instance", "--n", "0", "--alpha", "0.5", "--seed", "1", "-o", "{d}/x.h5"], "'0' must be >= 1"),
    (["instance", "--n", "10", "--alpha", "-1", "--seed", "1", "-o", "{d}/x.h5"], "alpha=-1.0"),
    (["instance", "--n", "10", "--alpha", "0.5", "--kappa", "nan", "--seed", "1", "-o", "{d}/x.h5"], "kappa=nan"),
    (["instance", "--n", "10", "--alpha", "0.5", "--symmetric", "--seed", "1", "-o", "{d}/x.h5"], "needs --kappa"),
    (["instance", "--n", "10", "--alpha", "0.5", "--labels", "bogus", "--seed", "1", "-o", "{d}/x.h5"], "invalid choice"),
    (["instance", "--n", "10", "--alpha", "0.5", "--seed", "1", "-o", "{d}/nodir/x.h5"], "does not exist"),
    (["sample", "{d}/missing.h5"], "does not exist"),
    (["sample", "{f}", "--beta", "-2"], "beta=-2.0"),
    (["sample", "{f}", "--sweeps", "15", "--record-every", "10"], "multiple of record_every"),
    (["sample", "{f}", "--sampler", "walk", "--energy", "linear"], "not defined for the solution walk"),
    (["sample", "{f}", "--resume"], "needs --run-name"),
    (["sample", "{f}", "--resume", "--run-name", "nope"], "no run 'nope'"),
    (["sample", "{f}", "--threads", "999"], "--threads 999"),
    (["enumerate", "{f}", "--what", "distance"], "needs --reference"),
    (["enumerate", "{f}", "--what", "distance", "--reference", "teacher"], "no teacher"),
    (["info", "{d}/notastore.h5"], "not a readable HDF5"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a[:3]) + "-" + m[:16] for a, m in BAD])
def test_bad_input_one_line_exit_2_no_file(tmp_path, capsys, argv, message):
    f = tmp_path / "good.h5"
    cli(capsys, "instance", "--n", "10", "--alpha", "0.5", "--seed", "1", "-o", f)
    (tmp_path / "notastore.h5").write_text("junk")
    before = sorted(p.name for p in tmp_path.iterdir())
    with open_store(f) as st:
        runs_before = st.runs()
    argv = [a.format(d=tmp_path, f=f) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no partial or temporary file
    with open_store(f) as st:
        assert st.runs() == runs_before


def test_refuses_to_overwrite_without_flag(tmp_path, capsys):
    f = tmp_path / "o.h5"
    assert cli(capsys, "instance", "--n", "10", "--alpha", "0.5", "--seed", "1", "-o", f)[0] == 0
    code, _, err = cli(capsys, "instance", "--n", "10", "--alpha", "0.5", "--seed", "2", "-o", f)
    assert code == 2 and "--overwrite" in err
    assert cli(capsys, "instance", "--n", "10", "--alpha", "0.5", "--seed", "2", "-o", f, "--overwrite")[0] == 0
    assert cli(capsys, "sample", f, "--sweeps", "10", "--run-name", "x")[0] == 0
    code, _, err = cli(capsys, "sample", f, "--sweeps", "10", "--run-name", "x")
    assert code == 2 and "exists" in err


def test_console_script_and_module_entry_points(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "spinglass-nets")
    for cmd in ([exe, "--help"], [sys.executable, "-m", "spinglass_nets", "--help"]):
        if cmd[0] == exe and not os.path.exists(exe):
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "instance" in r.stdout and "sample" in r.stdout
    r = subprocess.run([sys.executable, "-m", "spinglass_nets", "sample", str(tmp_path / "none.h5")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_demo_runs_and_passes(tmp_path, capsys):
    code, out, _ = cli(capsys, "demo", "-o", tmp_path / "demo.h5", "--json")
    d = json.loads(out)
    assert code == 0 and d["ok"], d["rows"]
    assert all(r["ok"] for r in d["rows"])
    with open_store(tmp_path / "demo.h5") as st:
        assert set(st.runs()) == {"anneal", "walk", "metropolis", "tempering"}


def test_replicated_and_reference_samplers_from_the_cli(tmp_path, capsys):
    f = tmp_path / "rr.h5"
    cli(capsys, "instance", "--n", 31, "--alpha", 0.4, "--seed", 4, "-o", f)
    code, out, _ = cli(capsys, "sample", f, "--sampler", "replicated", "--replicas", 2, "--form", "traced",
                       "--sweeps", 60, "--chains", 2, "--seed", 1, "--json")
    d = json.loads(out)
    assert code == 0 and d["n_chains"] == 2 and d["members_per_chain"] == 2  # 2 chains x 2 replicas
    assert np.shape(d["final_energy"]) == (2, 2)
    cli(capsys, "sample", f, "--sampler", "walk", "--sweeps", 10, "--chains", 1, "--seed", 2)
    code, out, _ = cli(capsys, "sample", f, "--sampler", "reference", "--reference", "walk:0", "--beta", "inf",
                       "--n-lams", 3, "--sweeps", 20, "--chains", 1, "--seed", 3, "--json")
    assert code == 0
    with open_store(f) as st:
        ref_run = st.run("reference_tempering")
        assert ref_run.attrs["params"]["reference"] == st.run("walk").samples()[-1, 0].tolist()
        assert sn.make_perceptron(31, 0.4, rng=4).is_solution(ref_run.samples(flat=True)).all()
    code, _, err = cli(capsys, "sample", f, "--sampler", "reference")
    assert code == 2 and "needs --reference" in err
