"""Shared fixtures. Tests run with Numba caching on; a fresh clone compiles once."""

import numpy as np
import pytest

import spinglass_nets as sn


@pytest.fixture
def small_binary():
    """N = 12, alpha = 0.5, kappa = 0: small enough for enumeration (4096 configurations)."""
    return sn.make_perceptron(12, 0.5, rng=12345)


def all_configs(n):
    """Every +-1 configuration of n weights, shape (2**n, n), int8 (brute-force referee)."""
    idx = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (idx >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8)


M64 = (1 << 64) - 1


class Xoshiro:
    """Pure-Python xoshiro256** with the kernels' draws (site by Lemire's method, uniform
    from the top 53 bits): the referee that pins the kernels' random-number consumption."""

    def __init__(self, state):
        self.s = [int(x) for x in state]

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64  # noqa: E731
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def site(self, n):
        while True:
            m = (self.next() >> 32) * n
            low = m & 0xFFFFFFFF
            if low < n and low < ((1 << 32) - n) % n:
                continue
            return m >> 32

    def uniform(self):
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)


def kill_at_random_moments(script, path, gen, max_records, attempts=3):
    """Run ``python script path start`` (then ``... resume``) ``attempts`` times and SIGKILL
    each process after a random number (1 .. max_records - 1) of its ``record`` lines plus a
    random delay of up to 20 ms, so the kill lands anywhere in the write cycle whatever the
    machine's speed. ``gen`` fixes the moments (the test itself is reproducible). Returns the
    number of processes actually killed (the others had printed ``done``)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    for attempt in range(attempts):
        mode = "start" if attempt == 0 else "resume"
        proc = subprocess.Popen([sys.executable, str(script), str(path), mode], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(int(gen.integers(1, max_records))):
            line = proc.stdout.readline()
            assert line.strip() in ("record", "done"), proc.stderr.read()
            if line.strip() == "done":
                break
        time.sleep(float(gen.uniform(0.0, 0.02)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    return kills


def theory_run(argv, capsys):
    """The ``theory`` subcommand through argparse directly (not the whole program):
    (return code, stdout)."""
    import argparse

    from spinglass_nets.theory import _cli

    parser = argparse.ArgumentParser()
    _cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["theory", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out
