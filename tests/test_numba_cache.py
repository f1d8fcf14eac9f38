"""The on-disk kernel cache is invalidated by edits of the files every kernel compiles in.

Numba keys a cached function on its own file; ``spinglass_nets._numba`` adds a digest of every
package file with compiled code to the stamp of the package's functions. Checked on a copy of
the package in a temporary directory, in fresh interpreters (hit / miss counters of Numba's
dispatcher), and on the locator list itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numba

import spinglass_nets
from spinglass_nets import _numba
from spinglass_nets.samplers import _kernels as K

PROBE = """
import json, numpy as np
from spinglass_nets.samplers import _kernels as K
h = np.arange(64, dtype=np.int16) - 32
la, lb, vb = (np.zeros(1, np.uint64) for _ in range(3))
K.rebuild_bits(h, 1, -1, la, lb, vb, 1)
assert la[0] == np.uint64(1) << np.uint64(33) and lb[0] == np.uint64(1) << np.uint64(31)
s = K.rebuild_bits.stats
print(json.dumps({"hits": sum(s.cache_hits.values()), "misses": sum(s.cache_misses.values())}))
"""


def _probe(root):
    env = dict(os.environ, PYTHONPATH=str(root), SPINGLASS_NETS_NUMBA_CACHE="1")
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300,
                         cwd=root)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_editing_a_dependency_invalidates_cached_kernels(tmp_path):
    pkg = Path(spinglass_nets.__file__).parent
    shutil.copytree(pkg, tmp_path / "spinglass_nets", ignore=shutil.ignore_patterns("__pycache__"))
    assert _probe(tmp_path) == {"hits": 0, "misses": 1}  # compiled and written
    assert _probe(tmp_path) == {"hits": 1, "misses": 0}  # loaded
    for dep in ("_rng.py", "samplers/_float_kernels.py"):  # compiled in / another kernel file
        with open(tmp_path / "spinglass_nets" / dep, "a") as f:
            f.write("\n# an edit of a file with compiled code\n")
        assert _probe(tmp_path) == {"hits": 0, "misses": 1}  # stale cache refused, recompiled
        assert _probe(tmp_path) == {"hits": 1, "misses": 0}


def test_every_file_with_compiled_code_is_a_cache_dependency():
    pkg = Path(spinglass_nets.__file__).parent
    compiled = sorted(str(p.relative_to(pkg)).replace(os.sep, "/") for p in pkg.rglob("*.py")
                      if "@njit" in p.read_text() or "@intrinsic" in p.read_text())
    assert compiled == sorted(_numba.CACHE_DEPENDENCIES)


def test_package_locators_come_first_and_only_take_package_functions():
    from numba.core import caching

    classes = caching.CacheImpl._locator_classes
    ours = [c for c in classes if getattr(c, "_spinglass_nets", False)]
    assert len(ours) == 3
    for c in ours:  # each sits right before the locator it extends
        assert classes[classes.index(c) + 1] is c.__mro__[1]

    def first(py_func, py_file):
        for c in classes:
            loc = c.from_function(py_func, py_file)
            if loc is not None:
                return loc

    loc = first(K.rebuild_bits.py_func, K.__file__)
    assert getattr(type(loc), "_spinglass_nets", False)
    assert loc.get_source_stamp()[1] == _numba.dependency_digest()

    @numba.njit(cache=True)
    def outside(x):
        return x + 1

    assert all(c.from_function(outside.py_func, __file__) is None for c in ours)
    _numba._install_cache_locators()  # idempotent
    assert sum(getattr(c, "_spinglass_nets", False) for c in caching.CacheImpl._locator_classes) == 3
