"""The ``theory`` subcommand, driven through argparse directly (not the lead's cli.py)."""

import json

import numpy as np
import pytest

from tests.conftest import theory_run as run


def test_capacity_json_is_one_object(capsys):
    code, out = run(["capacity", "--kappa=-0.5:1:4", "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert out.count("\n") == 1 and obj["name"] == "capacity"
    assert obj["alpha_c"][1] == pytest.approx(0.8331, abs=1e-4)


@pytest.mark.parametrize("argv", [
    ["rs", "--alpha", "0.1:0.5:3"], ["annealed", "--alpha", "0.3"],
    ["margins", "--alpha", "0.5", "--delta", "0:2:5"], ["symmetric", "--kappa", "1"],
    ["spherical", "--kappa", "0"], ["teacher-student", "--alpha", "1.0"],
    ["local-entropy", "--alpha", "0.5", "--kappa-ref", "0.3", "--d", "0.2:0.3:2"],
])
def test_every_name_prints_json(argv, capsys):
    code, out = run([*argv, "--json"], capsys)
    assert code == 0 and isinstance(json.loads(out), dict)


def test_table_output(capsys):
    code, out = run(["rs", "--alpha", "0.5"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("alpha")
    assert "0.31439" in out


def test_bad_values_raise_value_error(capsys):
    with pytest.raises(ValueError, match="alpha"):
        run(["rs"], capsys)
    with pytest.raises(ValueError, match="grid value"):
        run(["capacity", "--kappa", "a:b"], capsys)
    with pytest.raises(ValueError, match="alpha=-1.0"):
        run(["rs", "--alpha=-1"], capsys)


def test_store(tmp_path, capsys):
    store = pytest.importorskip("spinglass_nets.store")
    if not hasattr(store, "write_theory"):
        pytest.skip("spinglass_nets.store.write_theory not available yet")
    path = tmp_path / "t.h5"
    code, _ = run(["capacity", "--kappa", "0", "--store", str(path)], capsys)
    assert code == 0 and path.exists()
