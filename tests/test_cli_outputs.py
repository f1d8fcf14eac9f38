"""Outputs of ``plot``, ``report`` and ``analyze``: refusals are one line on stderr and exit 2,
existing files are never replaced without ``--overwrite``, and a failure leaves nothing behind."""

import json
import shutil

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.cli import main
from spinglass_nets.store import open_store, write_analysis

pytest.importorskip("matplotlib")

N = 21


def cli(capsys, *args):
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *args):
    """Run a command that must be refused; return its one stderr line."""
    code, out, err = cli(capsys, *args)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def snapshot(folder):
    """Every file under ``folder`` (hidden temporaries included) with its bytes and mtime."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def base_store(tmp_path_factory):
    from spinglass_nets.samplers import SimulatedAnnealing, run, schedules

    path = tmp_path_factory.mktemp("base") / "inst.h5"
    inst = sn.make_perceptron(N, 0.5, rng=1)
    run(SimulatedAnnealing(schedules.geometric(0.5, 10.0, 50)), inst, n_chains=2, n_sweeps=50, record_every=10,
        rng=1, store=path, run_name="r", progress=False)
    assert main(["analyze", str(path), "--run", "r", "--what", "margins", "--all"]) == 0
    # What `solve` writes: no "what" in the parameters.
    write_analysis(path, "solve_fbp", {"w": np.ones(N, np.int8)}, {"method": "fbp", "solved": True})
    return path


@pytest.fixture
def store(base_store, tmp_path):
    """A private copy of the store in an otherwise empty folder."""
    return shutil.copy(base_store, tmp_path / "inst.h5")


# ------------------------------------------------------------------------------ plot
def test_plot_refuses_existing_output_unless_overwrite(store, tmp_path, capsys):
    fig = tmp_path / "m.png"
    assert cli(capsys, "plot", store, "--analysis", "margins_r", "-o", fig)[0] == 0
    before = snapshot(tmp_path)
    err = refused(capsys, "plot", store, "--analysis", "margins_r", "-o", fig)
    assert "m.png" in err and "--overwrite" in err
    assert snapshot(tmp_path) == before
    fig.write_bytes(b"old")
    code, out, _ = cli(capsys, "plot", store, "--analysis", "margins_r", "-o", fig, "--overwrite", "--json")
    assert code == 0 and json.loads(out)["output"] == str(fig)
    assert fig.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inst.h5", "m.png"]  # no temporary left


def test_plot_without_suffix_writes_png_and_reports_it(store, tmp_path, capsys):
    code, out, _ = cli(capsys, "plot", store, "--analysis", "margins_r", "-o", tmp_path / "m", "--json")
    assert code == 0 and json.loads(out)["output"] == str(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 5_000 and not (tmp_path / "m").exists()
    before = snapshot(tmp_path)
    err = refused(capsys, "plot", store, "--analysis", "margins_r", "-o", tmp_path / "m")  # the final path exists
    assert "m.png" in err and "--overwrite" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("output, message", [("adir", "is a folder"), ("nodir/m.png", "folder"),
                                             ("m.v2", "'v2' is not supported")])
def test_plot_refuses_folder_missing_folder_and_unknown_format(store, tmp_path, capsys, output, message):
    (tmp_path / "adir").mkdir()
    before = snapshot(tmp_path)
    err = refused(capsys, "plot", store, "--analysis", "margins_r", "-o", tmp_path / output)
    assert message in err
    if output.startswith("nodir"):
        assert "does not exist" in err
    assert snapshot(tmp_path) == before  # nodir/ not created, no adir.png


def test_plot_failure_leaves_no_file_and_keeps_the_old_one(store, tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    def broken(self, fname, **kw):
        with open(fname, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    before = snapshot(tmp_path)
    assert "disk full" in refused(capsys, "plot", store, "--analysis", "margins_r", "-o", tmp_path / "m.png")
    assert snapshot(tmp_path) == before  # neither m.png nor its temporary
    (tmp_path / "old.png").write_bytes(b"old")
    before = snapshot(tmp_path)
    refused(capsys, "plot", store, "--analysis", "margins_r", "-o", tmp_path / "old.png", "--overwrite")
    assert snapshot(tmp_path) == before


def test_plot_refuses_analysis_of_another_command(store, tmp_path, capsys):
    before = snapshot(tmp_path)
    err = refused(capsys, "plot", store, "--analysis", "solve_fbp", "-o", tmp_path / "s.png")
    assert "solve_fbp" in err and "margins" in err and "flatness" in err and "None" not in err
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------ report
@pytest.fixture
def tiny_report(monkeypatch):
    """``report --quick`` at toy sizes (seconds): the CLI's output handling is under test, not the physics."""
    from spinglass_nets.analysis import report

    def tiny(seed=2024):
        return report.ReportConfig(
            seed=seed, entropy_n=[9, 11, 13], entropy_alphas=[0.5], entropy_instances=2, psat_n=[9],
            psat_alphas=[0.5, 1.0], psat_instances=2, small_n=10, small_instances=2, margins_large_n=21,
            margins_large_instances=1, mc_n=[], mc_chains=2, mc_validation_sweeps=40, theory_points=3,
            theory_typical=False, sampler_n=[21], sampler_alphas=[0.3], sampler_instances=1, sampler_chains=2,
            sampler_sweeps=20, quick=True)

    monkeypatch.setattr(report.ReportConfig, "quick_config", staticmethod(tiny))
    return report


@pytest.mark.parametrize("kind", ["folder", "file", "no-parent", "dot"])
def test_report_refuses_existing_output_and_missing_parent(tmp_path, capsys, monkeypatch, kind):
    from spinglass_nets.analysis import report

    monkeypatch.setattr(report, "_build", lambda *a, **k: pytest.fail("computed before refusing"))
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.md").write_text("old")
    (tmp_path / "text.txt").write_text("text")
    out, message = {"folder": ("rep", "--overwrite"), "file": ("text.txt", "not a folder"),
                    "no-parent": ("nodir/rep", "does not exist"), "dot": (".", "not a new folder name")}[kind]
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    err = refused(capsys, "report", "--quick", "-o", out, *(["--overwrite"] if kind in ("file", "dot") else []))
    assert message in err and "Errno" not in err
    assert snapshot(tmp_path) == before


def test_report_twice_needs_overwrite_and_replaces_atomically(tmp_path, capsys, tiny_report, monkeypatch):
    out = tmp_path / "rep"
    code, stdout, _ = cli(capsys, "report", "--quick", "--seed", 1, "-o", out, "--json")
    assert code == 0 and json.loads((out / "report.json").read_text())["meta"]["seed"] == 1
    before = snapshot(tmp_path)
    assert "--overwrite" in refused(capsys, "report", "--quick", "--seed", 2, "-o", out)
    assert snapshot(tmp_path) == before
    # A failure at the very end (after every section and figure) leaves the old report as it was.
    real = tiny_report._markdown
    monkeypatch.setattr(tiny_report, "_markdown", lambda clean: (_ for _ in ()).throw(OSError("disk full")))
    assert "disk full" in refused(capsys, "report", "--quick", "--seed", 2, "-o", out, "--overwrite")
    assert snapshot(tmp_path) == before
    monkeypatch.setattr(tiny_report, "_markdown", real)
    assert cli(capsys, "report", "--quick", "--seed", 2, "-o", out, "--overwrite")[0] == 0
    assert json.loads((out / "report.json").read_text())["meta"]["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no temporary or old folder left
    # --overwrite replaces a previous report only, never a folder holding other files.
    (out / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert "notes.txt" in refused(capsys, "report", "--quick", "-o", out, "--overwrite")
    assert snapshot(tmp_path) == before


def test_report_failure_leaves_no_folder(tmp_path, capsys, tiny_report, monkeypatch):
    monkeypatch.setattr(tiny_report, "_section_samplers", lambda *a: (_ for _ in ()).throw(ValueError("boom")))
    assert "boom" in refused(capsys, "report", "--quick", "-o", tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ analyze
def test_analyze_checks_the_name_before_computing(store, tmp_path, capsys, monkeypatch):
    import spinglass_nets.analysis as A

    def boom(*a, **k):
        raise AssertionError("computed before checking the name")

    monkeypatch.setattr(A, "margins", boom)
    before = snapshot(tmp_path)
    err = refused(capsys, "analyze", store, "--run", "r", "--what", "margins", "--all")  # default name margins_r
    assert "margins_r" in err and "--overwrite" in err and "overwrite=True" not in err
    err = refused(capsys, "analyze", store, "--run", "r", "--what", "margins", "--all", "--name", "a/b")
    assert "--name 'a/b'" in err
    assert snapshot(tmp_path) == before
    monkeypatch.undo()
    assert cli(capsys, "analyze", store, "--run", "r", "--what", "margins", "--all", "--overwrite")[0] == 0
    for extra in (["--name", "x"], ["--overwrite"]):
        err = refused(capsys, "analyze", store, "--run", "r", "--what", "margins", "--no-write", *extra)
        assert "--no-write cannot be combined" in err


@pytest.mark.parametrize("d, message", [(",", "no distance"), ("", "no distance"), ("0,2", "not in [0, 1]"),
                                        ("0,x", "not a comma-separated list")])
def test_flatness_refuses_empty_or_bad_distances(store, tmp_path, capsys, d, message):
    before = snapshot(tmp_path)
    err = refused(capsys, "analyze", store, "--run", "r", "--what", "flatness", "--reference", "r:0", f"--d={d}")
    assert message in err and "--d" in err
    assert snapshot(tmp_path) == before


def test_flatness_default_grid_has_distinct_whole_flips(store, capsys):
    args = ["analyze", store, "--run", "r", "--what", "flatness", "--reference", "r:0", "--samples", 4,
            "--no-write", "--json"]
    code, out, _ = cli(capsys, *args)
    k = np.asarray(json.loads(out)["d"]) * N
    assert code == 0 and np.allclose(k, np.rint(k)) and k[0] == 0 and np.all(np.diff(k) > 0)
    assert k.tolist() == [0, 1, 2, 3, 4]  # round(d N) for d = 0, 0.02, ..., 0.2 at N = 21, repeats dropped
    # Distances the user gives are kept as given, repeats included.
    code, out, _ = cli(capsys, *args, "--d", "0.01,0.02,0.1")
    assert code == 0 and json.loads(out)["d"] == [0.0, 0.0, 2 / N]


@pytest.mark.parametrize("kind, message", [
    ("text", "not an .npy file"), ("pickle", "holds Python objects"), ("length", "does not match N = 21"),
    ("values", "not all +-1"), ("missing", "no such file"),
])
def test_reference_npy_errors_name_the_file_and_the_format(store, tmp_path, capsys, kind, message):
    ref = tmp_path / "ref.npy"
    if kind == "text":
        ref.write_text("1 -1 1\n")
    elif kind == "pickle":
        np.save(ref, np.array([{"w": 1}] * N, dtype=object), allow_pickle=True)
    elif kind == "length":
        np.save(ref, np.ones(7, np.int8))
    elif kind == "values":
        np.save(ref, np.zeros(N))
    before = snapshot(tmp_path)
    err = refused(capsys, "analyze", store, "--run", "r", "--what", "density", "--reference", ref)
    assert message in err and str(ref) in err and "+-1" in err and "allow_pickle=False" in err
    assert snapshot(tmp_path) == before


def test_reference_npy_of_plus_minus_one_is_accepted(store, tmp_path, capsys):
    ref = tmp_path / "ref.npy"
    np.save(ref, np.where(np.arange(N) % 2, 1.0, -1.0))  # floats +-1 are fine
    code, out, _ = cli(capsys, "analyze", store, "--run", "r", "--what", "density", "--reference", ref, "--json")
    assert code == 0 and json.loads(out)["analysis"] == "density_r"
    with open_store(store) as st:
        assert "density_r" in st.analyses()


@pytest.mark.parametrize("what, extra, message", [
    ("margins", ["--reference", "nope.npy"], "--reference does not apply to --what margins"),
    ("overlaps", ["--d", "0.1", "--method", "mc"], "--d, --method do not apply to --what overlaps"),
    ("density", ["--reference", "r:0", "--all"], "--all does not apply to --what density"),
    ("flatness", ["--reference", "r:0", "--beta", "3"], "--beta does not apply to --what flatness"),
    ("local-entropy", ["--reference", "r:0", "--sweeps", "10"], "--sweeps applies only to --method mc"),
])
def test_analyze_refuses_options_its_what_does_not_read(store, tmp_path, capsys, what, extra, message):
    """Audit (session 5): an option of another --what was silently ignored (a bad --reference
    file passed with --what margins printed margins and exit 0)."""
    before = snapshot(tmp_path)
    err = refused(capsys, "analyze", store, "--run", "r", "--what", what, "--no-write", *extra)
    assert message in err
    assert snapshot(tmp_path) == before


def test_help_texts_name_every_sampler_and_limit(capsys):
    """Audit (session 5): --swap-every also applies to reference; enumerate's limits are 34 / 30."""
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "tempering and reference: sweeps between exchanges" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "N <= 34 for +-1 patterns, 30 for Gaussian" in " ".join(capsys.readouterr().out.split())
