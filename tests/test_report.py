"""`spinglass-nets report --quick` end to end, and the analyze / plot CLI (bad input included)."""

import json

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.cli import main

pytest.importorskip("matplotlib")


def test_report_quick_end_to_end(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", "--quick", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seconds"] < 120  # target < 60 s on 2 idle cores; slack for a loaded machine
    data = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    for png in data["figures"].values():
        assert (out / png).stat().st_size > 10_000
        assert f"]({png})" in md
    # Exact entropies at N = 13-17 sit near s_RS(0.5) = 0.314 (PHYSICS.md 7b); bounds are loose for 6 instances.
    ent = data["entropy"]["per_alpha"]["0.5"]
    assert all(0.2 < m < 0.45 for m in ent["mean"])
    assert data["psat"]["alpha_c"] == pytest.approx(0.8331, abs=1e-3)
    # Monte Carlo local entropy agrees with enumeration on the same instance.
    mv = data["local_entropy"].get("mc_validation")
    if mv:
        for key in ("typical", "high_margin"):
            if key in mv:
                assert mv[key]["max_abs_z"] < 5


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from spinglass_nets.samplers import SolutionWalk, run

    path = tmp_path_factory.mktemp("st") / "s.h5"
    inst = sn.make_perceptron(15, 0.4, rng=3)
    run(SolutionWalk(), inst, n_chains=4, n_sweeps=40, record_every=4, rng=1, store=path, run_name="walk",
        progress=False)
    return path


@pytest.mark.parametrize("what", ["margins", "overlaps", "density", "local-entropy", "flatness"])
def test_analyze_and_plot(store, what, tmp_path, capsys):
    args = ["analyze", str(store), "--run", "walk", "--what", what, "--json", "--overwrite"]
    if what in ("density", "local-entropy", "flatness"):
        args += ["--reference", "walk:0"]
    if what == "flatness":
        args += ["--d", "0,0.1,0.2", "--samples", "50"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["analysis"] == f"{what}_walk"
    fig = tmp_path / f"{what}.png"
    assert main(["plot", str(store), "--analysis", out["analysis"], "-o", str(fig)]) == 0
    assert fig.stat().st_size > 5_000


def test_analyze_bad_input(store, capsys, tmp_path):
    assert main(["analyze", str(store), "--run", "nope", "--what", "margins"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["analyze", str(store), "--run", "walk", "--what", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    bad = tmp_path / "ref.npy"
    np.save(bad, np.ones(7, np.int8))
    assert main(["analyze", str(store), "--run", "walk", "--what", "density", "--reference", str(bad)]) == 2
    assert "N = 15" in capsys.readouterr().err
    assert main(["plot", str(store), "--analysis", "missing", "-o", str(tmp_path / "x.png")]) == 2
    assert "missing" in capsys.readouterr().err
