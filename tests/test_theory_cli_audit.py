"""``theory`` CLI defects found by an audit, each reproduced and then fixed: grids where a
quantity takes one number, malformed grids, stored curves that could not be replaced or
named, unnamed option errors, warnings spilled on stderr, strict JSON."""

import argparse
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from spinglass_nets.cli import main
from spinglass_nets.store import open_store
from spinglass_nets.theory import _cli
from tests.conftest import theory_run as run


def cli(capsys, *args):
    """The whole program (one-line errors, exit 2), with every warning recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["theory", *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return code, out, err, caught


def bad(capsys, *args, match):
    code, out, err, caught = cli(capsys, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    assert match in err, err
    assert not caught, [str(w.message) for w in caught]
    return err


def strict(text):
    """One strict JSON object on one line (NaN / Infinity refused)."""
    def refuse(c):
        raise ValueError(f"non-strict JSON constant {c}")

    assert text.count("\n") == 1
    obj = json.loads(text, parse_constant=refuse)
    assert isinstance(obj, dict)
    return obj


# ---------------------------------------------------------------- 1. grids where one number is taken
def test_margins_accepts_kappa_and_alpha_grids(capsys):
    code, out = run(["margins", "--alpha", "0.3:0.5:2", "--kappa", "0:0.5:2", "--delta", "0:2:3", "--json"],
                    capsys)
    obj = strict(out)
    # Every (alpha, kappa) combination, alpha-major, one row per stability.
    assert code == 0 and len(obj["delta"]) == 4 * 3
    assert obj["alpha"] == [0.3] * 6 + [0.5] * 6 and obj["kappa"] == ([0.0] * 3 + [0.5] * 3) * 2
    from spinglass_nets import theory as th

    assert obj["density"][10] == pytest.approx(th.margin_density(1.0, 0.5, 0.5))
    assert obj["cdf"][1] == pytest.approx(th.margin_cdf(1.0, 0.3, 0.0))


def test_margins_kappa_grid_default_delta_follows_each_kappa(capsys):
    code, out = run(["margins", "--alpha", "0.2", "--kappa", "0:1:3"], capsys)
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and rows[0] == ["alpha", "kappa", "delta", "density", "cdf"]
    assert len(rows) == 1 + 3 * 81
    # Each curve starts at its own kappa (the density jumps there).
    assert [float(rows[1 + 81 * i][2]) for i in range(3)] == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("name", ["rs", "annealed", "symmetric"])
def test_two_grids_give_every_combination(name, capsys):
    code, out = run([name, "--alpha", "0.1:0.3:3", "--kappa", "0.5:1:2", "--json"], capsys)
    obj = strict(out)
    assert code == 0 and obj["alpha"] == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3] and obj["kappa"] == [0.5, 1.0] * 3


def test_margins_single_curve_keeps_its_params(capsys):
    obj = strict(run(["margins", "--alpha", "0.5", "--delta", "0:2:5", "--json"], capsys)[1])
    assert obj["params"]["alpha"] == 0.5 and obj["params"]["kappa"] == 0.0


def test_margins_beyond_the_rs_saddle_is_one_line(capsys):
    bad(capsys, "margins", "--alpha", 0.5, "--kappa", "0:1:3", match="Gardner-Derrida")


@pytest.mark.parametrize("argv, option", [
    (["local-entropy", "--alpha", "0.1:0.5:3"], "--alpha"),
    (["local-entropy", "--alpha", "0.5", "--kappa", "0:0.5:2"], "--kappa"),
    (["flat-minima", "--kappa", "0:1:3"], "--kappa"),
])
def test_single_number_options_refuse_grids(argv, option, capsys):
    err = bad(capsys, *argv, match=f"takes one number for {option}")
    assert f"'theory {argv[0]}'" in err


def test_flat_minima_outside_its_bracket_names_kappa(capsys, monkeypatch):
    from spinglass_nets import theory as th

    def fails(kappa=0.0, alpha_bracket=(0.71, 0.74)):
        raise ValueError("alpha_bracket=(0.71, 0.74) is not allowed: min dS/dd is 0.283 and 0.255")

    monkeypatch.setattr(th, "flat_minima_threshold", fails)
    bad(capsys, "flat-minima", "--kappa=-0.1", match="--kappa -0.1: no flat-minima threshold found")


# ---------------------------------------------------------------- 2. malformed grids
@pytest.mark.parametrize("value", ["0.5:0.6:0", "0.5:0.6", "a:b:c", "1:2:2.5", "1:2:-1", "1:2:3:4", "nan",
                                   "0:inf:3", "", "1:2:1000001"])
def test_malformed_grids_are_one_line(value, capsys):
    bad(capsys, "rs", f"--alpha={value}", match=f"--alpha {value!r} is not allowed")


def test_grid_of_one_point(capsys):
    obj = strict(run(["rs", "--alpha", "0.5:0.9:1", "--json"], capsys)[1])
    assert obj["alpha"] == [0.5]


# ---------------------------------------------------------------- 3. --store, --name, --overwrite
def test_store_refuses_then_overwrites_then_names(tmp_path, capsys):
    path = tmp_path / "theo.h5"
    assert cli(capsys, "capacity", "--store", path)[0] == 0
    bad(capsys, "capacity", "--store", path, "--kappa", 1, match="pass --overwrite")
    code, *_ = cli(capsys, "capacity", "--store", path, "--kappa", 0.5, "--overwrite")
    assert code == 0
    assert cli(capsys, "capacity", "--store", path, "--kappa", 1, "--name", "capacity_k1")[0] == 0
    with open_store(path) as st:
        assert st.theories() == ["capacity", "capacity_k1"]
        assert st.theory("capacity")[0]["kappa"].tolist() == [0.5]
        assert st.theory("capacity_k1")[0]["alpha_c"][0] == pytest.approx(0.270700, abs=1e-6)


def test_store_checks_name_before_computing(tmp_path, capsys, monkeypatch):
    from spinglass_nets import theory as th

    path = tmp_path / "theo.h5"
    assert cli(capsys, "spherical", "--store", path, "--name", "flat-minima")[0] == 0

    def never(*a, **k):
        raise AssertionError("computed before checking the store entry")

    monkeypatch.setattr(th, "flat_minima_threshold", never)
    bad(capsys, "flat-minima", "--store", path, match="/theory/flat-minima exists")
    bad(capsys, "flat-minima", "--store", path, "--name", "a/b", match="--name 'a/b' is not allowed")
    bad(capsys, "flat-minima", "--store", tmp_path / "no" / "t.h5", match="does not exist")


def test_store_options_need_store(capsys):
    bad(capsys, "capacity", "--overwrite", match="--overwrite only applies with --store")
    bad(capsys, "capacity", "--name", "x", match="--name only applies with --store")


# ---------------------------------------------------------------- 4. --kappa-ref
def test_kappa_ref_not_a_number_names_the_option(capsys):
    bad(capsys, "local-entropy", "--alpha", 0.5, "--kappa-ref", "abc",
        match="--kappa-ref 'abc' is not allowed: give a number >= kappa or 'max'")


# ---------------------------------------------------------------- 5. capacity range, no warnings
@pytest.mark.parametrize("kappa", ["1e10", "-10", "60"])
def test_capacity_outside_its_range_is_one_line(kappa, capsys):
    bad(capsys, "capacity", f"--kappa={kappa}", match="is outside [-5, 50]")


def test_capacity_range_ends_compute(capsys):
    code, out, err, caught = cli(capsys, "capacity", "--kappa=-5:50:2", "--json")
    obj = strict(out)
    assert code == 0 and err == "" and not caught
    assert obj["alpha_c"][0] > 1e6 and 0 < obj["alpha_c"][1] < 1e-3


def test_capacity_1e10_in_a_process_prints_one_line():
    p = subprocess.run([sys.executable, "-m", "spinglass_nets", "theory", "capacity", "--kappa", "1e10"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "kappa=1e+10 is outside [-5, 50]" in p.stderr, p.stderr
    assert "Warning" not in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("argv", [
    ["rs", "--alpha", "0.5", "--kappa=1e300"], ["spherical", "--kappa=-1e7"],
])
def test_huge_kappa_is_one_line(argv, capsys):
    bad(capsys, *argv, match="is outside [-1e6, 1e6]")


@pytest.mark.parametrize("argv", [
    ["margins", "--alpha", "0.5", "--delta=-1e300:1e300:3"], ["spherical", "--kappa=-1e6:0:3"],
    ["symmetric", "--kappa", "1e-300:1e6:3", "--alpha", "1e300"],
])
def test_extreme_values_spill_no_warnings(argv, capsys):
    code, out, err, caught = cli(capsys, *argv, "--json")
    assert code == 0 and err == "" and not caught, (err, [str(w.message) for w in caught])
    strict(out)


def test_unconverged_points_are_one_stderr_line_and_strict_json(capsys):
    code, out, err, caught = cli(capsys, "rs", "--alpha", "0.5:1.5:3", "--json")
    obj = strict(out)
    assert code == 0 and not caught and len(err.strip().splitlines()) == 1 and "converged=False" in err
    assert obj["converged"] == [True, True, False] and obj["entropy"][2] is None
    assert obj["residual"][2] == "inf"  # the project's strict-JSON spelling of infinity


# ---------------------------------------------------------------- 6. JSON on defaults, options that do not apply
@pytest.mark.parametrize("argv", [
    ["capacity"], ["spherical"], ["symmetric", "--kappa", "1", "--alpha", "0.5"], ["annealed", "--alpha", "0.5"],
    ["rs", "--alpha", "0.5"], ["margins", "--alpha", "0.5"],
    ["local-entropy", "--alpha", "0.5", "--kappa-ref", "max", "--d", "0:0.3:3"],
    ["teacher-student", "--alpha", "0:2:3"],
])
def test_json_is_strict(argv, capsys):
    code, out, err, caught = cli(capsys, *argv, "--json")
    assert code == 0 and not caught
    assert strict(out)["name"] == argv[0]


@pytest.mark.parametrize("argv, option", [
    (["capacity", "--alpha", "0.5"], "--alpha"), (["teacher-student", "--kappa", "1"], "--kappa"),
    (["rs", "--alpha", "0.5", "--d", "0.1"], "--d"), (["rs", "--alpha", "0.5", "--delta", "1"], "--delta"),
    (["margins", "--alpha", "0.5", "--kappa-ref", "max"], "--kappa-ref"),
])
def test_options_that_do_not_apply_are_refused(argv, option, capsys):
    bad(capsys, *argv, match=f"{option} does not apply to 'theory {argv[0]}'")


def test_symmetric_needs_a_positive_kappa(capsys):
    bad(capsys, "symmetric", match="'theory symmetric' needs --kappa K > 0")


def test_help_names_every_option():
    parser = argparse.ArgumentParser()
    _cli.add_parser(parser.add_subparsers(dest="command", required=True))
    sub = parser._subparsers._group_actions[0].choices["theory"]
    text = " ".join(sub.format_help().split())
    for opt in ("--alpha", "--kappa", "--kappa-ref", "--d", "--delta", "--json", "--store", "--name ENTRY",
                "--overwrite"):
        assert opt in text
    assert "one number for local-entropy and flat-minima" in text
    assert np.isclose(_cli.CAPACITY_KAPPA, (-5.0, 50.0)).all() and "[-5, 50]" in text
