"""Monte Carlo methods of ``spinglass_nets.solve``: verified success, determinism, defaults.

Fast lane (< 20 s on a loaded 2-core machine).
"""

import math

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import solve

MC = ("anneal", "tempering", "replicated")


@pytest.fixture(autouse=True, scope="module")
def _one_numba_thread():
    """One Numba thread: the runs here are single small chains, and on a busy machine the
    parallel region opened by every sweep call costs more than the sweep (results do not
    depend on the thread count)."""
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(old)


@pytest.mark.parametrize("method", MC)
@pytest.mark.parametrize("opts", [{}, {"energy": "errors"}])
def test_claimed_success_is_a_verified_solution(method, opts):
    for seed in range(3):
        inst = sn.make_perceptron(101, 0.35, rng=40 + seed)
        r = solve(inst, method, rng=seed, n_sweeps=200, **opts)
        assert r.solved == bool(inst.is_solution(r.w))
        assert r.w.shape == (101,) and r.w.dtype == np.int8
        if r.solved:
            assert r.energy == 0 and r.stop == "solved"
        else:
            assert r.energy > 0 and r.stop != "solved"


@pytest.mark.parametrize("method", MC)
def test_determinism_by_seed(method):
    inst = sn.make_perceptron(101, 0.6, rng=3)
    a = solve(inst, method, rng=11, n_sweeps=100)
    b = solve(inst, method, rng=11, n_sweeps=100)
    assert np.array_equal(a.w, b.w) and a.energy == b.energy and a.iterations == b.iterations


@pytest.mark.parametrize("method,opts", [("anneal", {"n_chains": 3, "n_sweeps": 700}),
                                         ("replicated", {"n_sweeps": 700})])
def test_defaults_solve_n201_alpha04(method, opts):
    """N = 201, alpha = 0.4 with 2100 sweeps per weight (all replicas together): robust with
    margin. In the tuning runs (docs_mc_solvers.md) both SA and RSA solve N = 201 at alpha = 0.5
    in every one of 8 instances with 3000 sweeps per weight, and 0.4 is far below that."""
    for k in range(3):
        inst = sn.make_perceptron(201, 0.4, rng=900 + k)
        r = solve(inst, method, rng=k, **opts)
        assert r.solved and inst.is_solution(r.w)


def test_linear_beta_scales_with_sqrt_n():
    inst = sn.make_perceptron(101, 0.3, rng=1)
    r = solve(inst, "anneal", rng=0, n_sweeps=50)
    assert r.params["energy"] == "linear" and math.isclose(r.params["beta_end"], 35.0 * math.sqrt(101))
    r = solve(inst, "anneal", rng=0, n_sweeps=50, energy="errors")
    assert r.params["beta_end"] == 30.0
    r = solve(inst, "tempering", rng=0, n_sweeps=50)
    assert math.isclose(r.params["betas_ladder"][-1], 12.0 * math.sqrt(101))
    r = solve(inst, "replicated", rng=0, n_sweeps=50, beta_end=77.0)
    assert r.params["energy"] == "linear"
    with pytest.raises(ValueError, match="unknown option"):
        solve(inst, "anneal", n_sweeps=10, gamma_end=3.0)


def test_replicated_returns_the_centre_when_it_is_a_solution():
    """``wait_for_centre=True`` anneals on after a replica's solution until a centre solves and
    returns that centre; by default the first solution (replica or centre) ends the run. Every
    claim is verified and ``params["returned"]`` names what was returned."""
    for k in range(3):
        inst = sn.make_perceptron(101, 0.3, rng=70 + k)
        first = solve(inst, "replicated", rng=k, n_sweeps=300)
        r = solve(inst, "replicated", rng=k, n_sweeps=300, wait_for_centre=True)
        assert first.solved and inst.is_solution(first.w) and r.solved and inst.is_solution(r.w)
        assert first.params["returned"] in ("centre", "replica")
        # same stream: the waiting run passes through the first one's stopping point
        assert r.iterations >= first.iterations
        assert r.params["returned"] == "centre"
    assert solve(inst, "anneal", rng=0, n_sweeps=300).params["returned"] == "chain"
    with pytest.raises(ValueError, match="form='centre'"):
        solve(inst, "replicated", rng=0, n_sweeps=300, form="traced", wait_for_centre=True)
    with pytest.raises(ValueError, match="wait_for_centre='yes' must be True or False"):
        solve(inst, "replicated", rng=0, n_sweeps=300, wait_for_centre="yes")


# --------------------------------------------------------------- the clock of time_limit
class _FakeClock:
    """A clock that advances one second per reading."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


@pytest.mark.parametrize("method", sn._solve.METHODS)
def test_clock_cpu_budgets_every_method(method, monkeypatch):
    """``clock="cpu"`` makes every method read the CPU-time clock for its deadline and its
    reported seconds (the clock is replaced by one that advances a second per reading, so a
    3 s budget ends the run after a few checks), and is recorded in ``params``. Above the
    capacity nothing can solve the instance, so only the clock can stop the run early."""
    from spinglass_nets.solvers import result

    fake = _FakeClock()
    monkeypatch.setitem(result.CLOCKS, "cpu", fake)
    inst = sn.make_perceptron(61, 1.2, rng=3)
    opts = {"max_sweeps": 1000} if method == "edmc" else {}
    r = solve(inst, method, time_limit=3.0, clock="cpu", rng=0, **opts)
    assert r.stop == "time_limit" and not r.solved
    assert 3.0 < r.seconds <= 10.0 and r.seconds == int(r.seconds)  # counted in fake seconds
    assert r.params["clock"] == "cpu"
    assert fake.t < 20


def test_clock_wall_is_the_default_and_bad_clocks_are_refused(monkeypatch):
    from spinglass_nets.bp import bp
    from spinglass_nets.solvers import result

    fake = _FakeClock()
    monkeypatch.setitem(result.CLOCKS, "wall", fake)
    inst = sn.make_perceptron(61, 1.2, rng=3)
    r = solve(inst, "sbpi", time_limit=3.0, rng=0)
    assert r.stop == "time_limit" and r.params["clock"] == "wall" and r.seconds == int(r.seconds)
    b = bp(inst, time_limit=2.0, clock="wall", max_iter=10**6, tol=1e-300)
    assert not b.converged and b.iterations <= 3 and b.seconds == int(b.seconds)
    for bad in ("gpu", None, 1, "CPU"):
        with pytest.raises(ValueError, match=r"clock=.* is not allowed; choose 'wall' or 'cpu'"):
            solve(inst, "fbp", clock=bad)


def test_cli_solve_clock(tmp_path, capsys):
    import json

    from spinglass_nets.cli import main
    from spinglass_nets.store import write_instance

    path = write_instance(tmp_path / "s.h5", sn.make_perceptron(61, 0.3, rng=1))
    assert main(["solve", str(path), "--method", "sbpi", "--seed", "0", "--time-limit", "30", "--clock", "cpu",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solved"] and out["params"]["clock"] == "cpu"
    before = path.read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(path), "--clock", "gpu"])
    assert exc.value.code == 2 and "--clock" in capsys.readouterr().err
    assert path.read_bytes() == before
