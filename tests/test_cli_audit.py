"""CLI defects found by an audit (session 4), each reproduced and then fixed: one line on
stderr and exit 2 for bad input, no option silently ignored, strict JSON, nothing
overwritten without --overwrite, checks before long work."""

import hashlib
import json
import os

import numpy as np
import pytest

from spinglass_nets.cli import main
from spinglass_nets.store import open_store


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def bad(capsys, *args, match):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    assert match in err, err
    return err


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path, capsys):
    f = tmp_path / "s.h5"
    assert cli(capsys, "instance", "--n", 21, "--alpha", 0.5, "--seed", 1, "-o", f)[0] == 0
    return f


def strict_json(text):
    def refuse(c):
        raise ValueError(f"not strict JSON: {c}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict(store, capsys):
    code, out, _ = cli(capsys, "sample", store, "--sampler", "metropolis", "--beta", "inf", "--sweeps", 10,
                       "--record-every", 5, "--json")
    assert code == 0 and strict_json(out)["params"]["beta"] == "inf"
    code, out, _ = cli(capsys, "sample", store, "--sampler", "edmc", "--sweeps", 2, "--record-every", 1, "--json")
    assert code == 0 and float(strict_json(out)["params"]["beta_e"]) == np.inf
    code, out, _ = cli(capsys, "info", store, "--json")
    assert code == 0 and set(strict_json(out)["runs"]) == {"metropolis", "edmc"}


def test_options_of_other_samplers_and_resume_conflicts_are_refused(store, capsys):
    bad(capsys, "sample", store, "--sampler", "replicated", "--beta", 7, match="--beta does not apply")
    bad(capsys, "sample", store, "--gamma-start", 7, "--replicas", 5, match="--gamma-start, --replicas do not apply")
    bad(capsys, "sample", store, "--run-name", "", match="--run-name must not be empty")
    assert cli(capsys, "sample", store, "--sweeps", 20, "--run-name", "m", "--seed", 1)[0] == 0
    before = digest(store)
    bad(capsys, "sample", store, "--run-name", "m", "--resume", "--sampler", "anneal", "--chains", 7,
        match="--chains, --sampler cannot be used with --resume")
    bad(capsys, "sample", store, "--run-name", "m", "--resume", match="is finished (20/20 sweeps)")
    assert digest(store) == before
    code, out, _ = cli(capsys, "sample", store, "--run-name", "m", "--resume", "--sweeps", 40, "--json")
    assert code == 0 and strict_json(out)["sweeps_done"] == 40


def test_walk_starts_from_a_solver_result_and_find_sweeps_is_an_option(store, capsys):
    assert cli(capsys, "solve", store, "--method", "fbp", "--seed", 1)[0] == 0
    with open_store(store) as st:
        w = st.analysis("solve_fbp")[0]["w"]
    code, out, _ = cli(capsys, "sample", store, "--sampler", "walk", "--init", "solve_fbp", "--chains", 3,
                       "--sweeps", 10, "--record-every", 5, "--seed", 2, "--json")
    assert code == 0 and strict_json(out)["solved_chains"] == 3
    with open_store(store) as st:
        assert st.run("walk").attrs["params"]["find_sweeps"] == 400
        assert np.all((st.run("walk").samples(flat=True) == w).mean(axis=1) > 0.5)  # near the start
    code, out, _ = cli(capsys, "sample", store, "--sampler", "walk", "--find-sweeps", 50, "--run-name", "w2",
                       "--sweeps", 10, "--record-every", 5, "--seed", 2, "--json")
    with open_store(store) as st:
        assert st.run("w2").attrs["params"]["find_sweeps"] == 50
    bad(capsys, "sample", store, "--init", "nothing", "--run-name", "x", match="--init nothing")


def test_reference_specs_are_checked(store, capsys):
    assert cli(capsys, "sample", store, "--sweeps", 20, "--run-name", "m", "--seed", 1)[0] == 0
    for spec, msg in (("m:x", "CHAIN and RECORD must be integers"), ("m:0:0:0", "expected 'teacher' or RUN"),
                      ("m:9", "chain must be in [0, 4)")):
        bad(capsys, "enumerate", store, "--what", "distance", "--reference", spec, match=msg)


def test_sample_counts_chains_not_members(store, capsys):
    code, out, _ = cli(capsys, "sample", store, "--sampler", "tempering", "--chains", 2, "--n-temps", 4,
                       "--sweeps", 20, "--seed", 1, "--json")
    d = strict_json(out)
    assert code == 0 and d["n_chains"] == 2 and d["members_per_chain"] == 4
    assert np.shape(d["final_energy"]) == (2, 4) and 0 <= d["solved_chains"] <= 2


def test_solve_checks_options_and_the_output_name_first(store, capsys):
    bad(capsys, "solve", store, "--method", "fbp", "--option", "bogus=1", "--no-save", match="bogus (allowed:")
    bad(capsys, "solve", store, "--method", "fbp", "--option", "rng=3", match="use --seed")
    bad(capsys, "solve", store, "--method", "anneal", "--option", "n_sweeps=10", "--sweeps", 20,
        match="--sweeps and --option n_sweeps")
    bad(capsys, "solve", store, "--no-save", "--save", "x", match="--no-save cannot")
    bad(capsys, "solve", store, "--save", "", match="name '' is not allowed")
    assert cli(capsys, "solve", store, "--method", "anneal", "--sweeps", 50, "--seed", 1)[0] == 0
    before = digest(store)
    # a budget that would take minutes: refused at once, before solving
    bad(capsys, "solve", store, "--method", "anneal", "--sweeps", 10**8, match="--overwrite")
    assert digest(store) == before


def test_demo_refuses_an_existing_file_and_passes_exact_zero_spread(tmp_path, capsys):
    f = tmp_path / "precious.h5"
    f.write_text("keep me")
    bad(capsys, "demo", "-o", f, match="exists")
    assert f.read_text() == "keep me"
    code, out, _ = cli(capsys, "demo", "-o", f, "--seed", 3, "--overwrite", "--json")
    d = strict_json(out)
    assert code == 0 and d["ok"], [r for r in d["rows"] if not r["ok"]]
    zero = [r for r in d["rows"] if r["error"] == 0]
    assert zero and all(r["ok"] and r["sampled"] == r["exact"] for r in zero)  # seed 3: all isolated


def test_store_problems_are_one_line(tmp_path, capsys, monkeypatch):
    d = tmp_path / "adir"
    d.mkdir()
    bad(capsys, "info", d, match="is a folder, not a store")
    f = tmp_path / "s.h5"
    cli(capsys, "instance", "--n", 9, "--alpha", 0.5, "--seed", 1, "-o", f)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if m == os.W_OK else real(p, m, *a, **k))
    bad(capsys, "sample", f, "--sweeps", 10, match="is read-only")


def test_out_of_memory_is_one_line(tmp_path, capsys):
    bad(capsys, "instance", "--n", 10**6, "--alpha", 1000, "--seed", 1, "-o", tmp_path / "big.h5",
        match="out of memory")
    assert not (tmp_path / "big.h5").exists()


def test_non_finite_coupling_ladder_is_one_line(store, capsys):
    assert cli(capsys, "sample", store, "--sweeps", 20, "--run-name", "m", "--seed", 1)[0] == 0
    bad(capsys, "sample", store, "--sampler", "reference", "--reference", "m", "--lam-max", "inf",
        match="--lam-max inf must be a finite number")


def test_monte_carlo_solve_can_show_a_progress_bar(capsys):
    import spinglass_nets as sn

    inst = sn.make_perceptron(21, 0.5, rng=1)
    sn.solve(inst, "anneal", n_sweeps=40, rng=0, progress=True)
    assert "%" in capsys.readouterr().err  # tqdm's bar on stderr
    sn.solve(inst, "anneal", n_sweeps=40, rng=0)
    assert capsys.readouterr().err == ""  # off by default in the library


def test_enumerate_refuses_options_of_other_quantities(store, capsys):
    bad(capsys, "enumerate", store, "--what", "count", "--reference", "teacher", match="--reference applies to")
    bad(capsys, "enumerate", store, "--what", "count", "--energy", "linear", match="--energy applies to")
    code, out, _ = cli(capsys, "enumerate", store)
    assert code == 0 and "solutions; (1/N) log count = " in out


def test_abbreviated_options_are_refused(store, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", str(store), "--beta-s", "1"])
    assert exc.value.code == 2 and "unrecognized arguments: --beta-s" in capsys.readouterr().err
