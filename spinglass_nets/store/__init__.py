"""HDF5 sample stores: the record of every instance, run, analysis and theory curve.

The only package that imports h5py (``_h5``: opening, locking, live views). Layout
(``schema_version`` 1, DESIGN.md section 7)::

    /                 attrs: creator, schema_version, package_version, created,
                             python/numpy/numba/h5py/hdf5 versions
    /instance         xi (P, N), y (P,), [teacher (N,)];
                      attrs: kind, n, p, alpha, kappa, labels, patterns, seed (JSON)
    /runs/<name>      attrs: sampler, params (JSON), n_chains, n_temperatures, n_sweeps,
                             record_every, energy, seed (JSON), created, package_version,
                             w_encoding, chain_layout
    /runs/<name>/counters     (4,) int64: n_written, checkpoint_slot, checkpoint_records,
                              checkpoint_sweep (the commit point)
    /runs/<name>/w            (T, C, ceil(N/8)) uint8 bit-packed samples
    /runs/<name>/energy       (T, C) float64
    /runs/<name>/acceptance   (T, C) float64, accepted fraction since the previous record
    /runs/<name>/beta         (T, C) float64
    /runs/<name>/sweep        (T,) int64, sweeps done at each record
    /runs/<name>/<trace>      (T, C) float64, the sampler's extra traces (attr extra_traces,
                              JSON name -> description; e.g. free_entropy, gamma for EdMC)
    /runs/<name>/checkpoint_0, checkpoint_1   w, rng_state, aux_* (the sampler state)
    /analysis/<name>, /theory/<name>          arrays + attrs params (JSON)
    /generation       (1,) int64: structure generation, odd during a structural change (live views)

Crash safety: records are buffered in memory and reach the file only together with a
checkpoint, in this order: data rows, flush; checkpoint into the slot *not* named by
``checkpoint_slot``, flush; then the four counters, flush. A process killed at any moment
leaves counters that point at complete data and a complete checkpoint; rows past
``n_written`` are ignored by readers and overwritten on resume.

HDF5 has no journal: a process killed inside ``H5Fflush`` can leave half-written metadata
(a chunk index, a compressed chunk, an attribute heap). So nothing during a run touches
metadata: every trace dataset is allocated at its full size when the run is created
(contiguous layout, early allocation, no compression filter), both checkpoint slots are
created with the first checkpoint, and the counters are a 4-element dataset, rewritten by
one small raw write. (The guarantee is against process death; power loss needs fsync,
which HDF5 does not do.) Extending a finished run reallocates its datasets, once, outside
any sampling.

Concurrent reading (a store that a run is writing, read as a *live view*): see ``_h5``.

Readers never need this package: every dataset is self-describing through attributes.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from .._files import atomic_write
from .._json import json_default as _json_default
from ..errors import StoreError
from ..models.perceptron import PerceptronInstance
from ._h5 import (  # noqa: F401  (GENERATION, _changed, _live_guarded: for readers of this package)
    CREATOR, GENERATION, LIBVER, SCHEMA_VERSION, _busy, _changed, _check_schema, _fixed, _live_guarded, _open,
    _structural,
)

W_ENCODING = (
    "np.packbits(w > 0, axis=-1) (bitorder 'big'); decode: "
    "w = 2 * np.unpackbits(x, axis=-1, count=N).astype(np.int8) - 1"
)


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions():
    import numba

    from .. import __version__

    return {
        "package_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "h5py_version": h5py.__version__,
        "hdf5_version": h5py.version.hdf5_version,
    }


def pack(w) -> np.ndarray:
    """Bit-pack +-1 configurations along the last axis (see ``W_ENCODING``)."""
    return np.packbits(np.asarray(w) > 0, axis=-1)


def unpack(x, n) -> np.ndarray:
    """Inverse of :func:`pack`: int8 +-1 of last dimension ``n``."""
    return (2 * np.unpackbits(np.asarray(x), axis=-1, count=n).astype(np.int8) - 1).astype(np.int8)


def _init_root(f):
    f.attrs["creator"] = CREATOR
    f.attrs["schema_version"] = SCHEMA_VERSION
    f.attrs["created"] = _now()
    for k, v in _versions().items():
        f.attrs[k] = v
    _fixed(f, GENERATION, (1,), np.int64, data=np.zeros(1, np.int64))


def _write_instance(f, inst):
    g = f.create_group("instance")
    g.create_dataset("xi", data=inst.xi)
    g.create_dataset("y", data=inst.y)
    if inst.teacher is not None:
        g.create_dataset("teacher", data=inst.teacher)
    d = inst.describe()
    for k in ("kind", "n", "p", "alpha", "kappa", "labels", "patterns"):
        g.attrs[k] = d[k]
    g.attrs["seed"] = json.dumps(d["seed"])
    g["xi"].attrs["description"] = "patterns (P, N); int8 +-1 or float64 Gaussian"
    g["y"].attrs["description"] = "labels (P,), int8 +-1"


def _read_instance(f, path="store"):
    if "instance" not in f:
        raise StoreError(f"{str(path)!r} holds no instance")
    g = f["instance"]
    return PerceptronInstance(
        xi=g["xi"][()], y=g["y"][()], kappa=float(g.attrs["kappa"]),
        teacher=g["teacher"][()] if "teacher" in g else None, kind=str(g.attrs["kind"]),
        labels=str(g.attrs["labels"]), patterns=str(g.attrs["patterns"]),
        seed=json.loads(g.attrs.get("seed", "null")),
    )


def _same_instance(a, b):
    return (
        a.kind == b.kind and a.kappa == b.kappa and a.xi.dtype == b.xi.dtype
        and np.array_equal(a.xi, b.xi) and np.array_equal(a.y, b.y)
    )


def _atomic_new_file(path, fill, overwrite=False):
    """Create ``path`` through a temporary file in the same folder and an atomic rename,
    so a failure never leaves a partial file (and never clobbers an existing one unless
    ``overwrite``)."""

    def write(tmp):
        with h5py.File(tmp, "w", libver=LIBVER) as f:
            _init_root(f)
            fill(f)

    if overwrite and Path(path).is_file():
        try:  # replacing a store that a run is writing would silently discard that run
            h5py.File(path, "r", libver=LIBVER).close()
        except BlockingIOError:
            raise _busy(path, "r+") from None
        except OSError:  # not HDF5, or already open in this process: replacing it is allowed
            pass
    atomic_write(path, write, overwrite=overwrite, error=StoreError)


def write_instance(path, instance: PerceptronInstance, *, overwrite: bool = False) -> Path:
    """Create a new store at ``path`` holding ``instance`` (atomically)."""
    _atomic_new_file(path, lambda f: _write_instance(f, instance), overwrite=overwrite)
    return Path(path)


def read_instance(path) -> PerceptronInstance:
    """The instance of the store at ``path``."""
    f, _ = _open(path, "r", live_ok=True)
    with f:
        return _read_instance(f, path)


def _ensure_store(path, instance=None):
    """Open ``path`` for writing, creating it (with ``instance``) if missing."""
    path = Path(path)
    if not path.exists():
        if instance is None:
            _atomic_new_file(path, lambda f: None)
        else:
            write_instance(path, instance)
    f, _ = _open(path, "r+")
    if instance is not None:
        if "instance" not in f:
            with _structural(f):
                _write_instance(f, instance)
        else:
            try:
                _check_same_instance(f, path, instance)
            except StoreError:
                f.close()
                raise
    return f


def _check_same_instance(f, path, instance):
    if not _same_instance(_read_instance(f, path), instance):
        raise StoreError(f"{str(path)!r} holds a different instance; use another file")


def _check_run_free(runs, name, path, overwrite):
    if name in runs and not overwrite:
        raise StoreError(f"run {name!r} exists in {str(path)!r}; pass overwrite=True (CLI: --overwrite) or --resume")


def check_run_writable(path, name, instance, *, overwrite=False) -> None:
    """Raise what :func:`open_run_writer` would raise for a new run ``name`` (a bad name, a
    file that is not a store or holds another instance, a run that exists without
    ``overwrite``) without writing anything: callers check before work that may fail, and
    open the writer only after it succeeded, so a failed run leaves the file as it was."""
    _check_name(name)
    path = Path(path)
    if not path.exists():
        if not path.parent.exists():
            raise StoreError(f"folder {str(path.parent)!r} does not exist")
        return
    f, _ = _open(path, "r")
    with f:
        if "instance" in f:
            _check_same_instance(f, path, instance)
        if "runs" in f:
            _check_run_free(f["runs"], name, path, overwrite)


def check_named_free(path, group, name, overwrite=False) -> None:
    """Raise what writing ``/<group>/<name>`` into the store at ``path`` would raise (a bad
    name, not a store, the entry exists without ``overwrite``) without writing: commands
    check before a long computation, not after it."""
    _check_name(name)
    f, _ = _open(path, "r")
    with f:
        if not overwrite and group in f and name in f[group]:
            raise StoreError(f"/{group}/{name} exists in {str(path)!r}; pass overwrite=True (CLI: --overwrite) "
                             "to replace it")


def _write_named(path, group, name, arrays, params, overwrite):
    _check_name(name)
    f = _ensure_store(path)
    try:
        if not overwrite and name in f.get(group, {}):
            raise StoreError(f"/{group}/{name} exists in {str(path)!r}; pass overwrite=True (CLI: --overwrite) "
                             "to replace it")
        with _structural(f):
            _replace_named(f, group, name, arrays, params)
    finally:
        f.close()


def _replace_named(f, group, name, arrays, params):
    root = f.require_group(group)
    if name in root:
        del root[name]
    _fill_named(root.create_group(name), arrays, params)


def _fill_named(g, arrays, params):
    for k, v in arrays.items():
        g.create_dataset(k, data=np.asarray(v))
    g.attrs["params"] = json.dumps(params, default=_json_default)
    g.attrs["created"] = _now()
    g.attrs["package_version"] = _versions()["package_version"]


def write_theory(path, name: str, arrays: dict, params: dict, *, overwrite: bool = False) -> None:
    """Write a theory curve to ``/theory/<name>`` (creating the store if needed)."""
    _write_named(path, "theory", name, arrays, params, overwrite)


def write_analysis(path, name: str, arrays: dict, params: dict, *, overwrite: bool = False) -> None:
    """Write an analysis result to ``/analysis/<name>`` with the parameters that made it."""
    _write_named(path, "analysis", name, arrays, params, overwrite)


TRACES = {
    "energy": "energy per record and chain",
    "acceptance": "accepted fraction of proposals since the previous record",
    "beta": "inverse temperature at the record",
}
# counters[...] = (n_written, checkpoint_slot, checkpoint_records, checkpoint_sweep)
C_WRITTEN, C_SLOT, C_RECORDS, C_SWEEP = range(4)


RESERVED = {"w", "sweep", "counters", "checkpoint_0", "checkpoint_1", *TRACES}


def _create_traces(g, T, C, nb, n, extra=None):
    w = _fixed(g, "w", (T, C, nb), np.uint8)
    w.attrs["encoding"] = W_ENCODING
    w.attrs["n"] = n
    for key, desc in {**TRACES, **(extra or {})}.items():
        _fixed(g, key, (T, C), np.float64).attrs["description"] = desc
    _fixed(g, "sweep", (T,), np.int64).attrs["description"] = "sweeps (N proposals each) done at the record"


def _check_name(name):
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise StoreError(f"name {name!r} is not allowed: a non-empty string without '/' not starting with '.'")


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSpec:
    """What defines a run (stored as attributes of ``/runs/<name>``)."""

    sampler: str
    params: dict
    n_chains: int
    n_sweeps: int
    record_every: int
    seed: dict
    n_temperatures: int = 1
    energy: str = "errors"
    extra_traces: dict = field(default_factory=dict)

    @property
    def n_columns(self):
        return self.n_chains * self.n_temperatures


def _spec_attrs(g, spec: RunSpec):
    d = asdict(spec)
    for k in ("sampler", "n_chains", "n_sweeps", "record_every", "n_temperatures", "energy"):
        g.attrs[k] = d[k]
    g.attrs["params"] = json.dumps(spec.params, default=_json_default)
    g.attrs["seed"] = json.dumps(spec.seed)
    g.attrs["extra_traces"] = json.dumps(spec.extra_traces)


def _spec_of(g) -> RunSpec:
    return RunSpec(
        sampler=str(g.attrs["sampler"]), params=json.loads(g.attrs["params"]), n_chains=int(g.attrs["n_chains"]),
        n_sweeps=int(g.attrs["n_sweeps"]), record_every=int(g.attrs["record_every"]),
        seed=json.loads(g.attrs["seed"]), n_temperatures=int(g.attrs["n_temperatures"]),
        energy=str(g.attrs["energy"]), extra_traces=json.loads(g.attrs.get("extra_traces", "{}")),
    )


class RunWriter:
    """Appends records to ``/runs/<name>``; see the module docstring for the write order."""

    def __init__(self, f, g, n, owns_file=True):
        self.f, self.g, self.n = f, g, n
        self.name = g.name.rsplit("/", 1)[-1]
        self._owns = owns_file
        self._buf = []
        self._counters = g["counters"]
        self.n_written = int(self._counters[C_WRITTEN])
        self._extra = list(json.loads(g.attrs.get("extra_traces", "{}")))

    def append(self, w, energy, acceptance, beta, sweep, extra=None):
        """Buffer one record; ``extra`` maps each of the run's extra traces to a (C,) array."""
        extra = extra or {}
        missing = [k for k in self._extra if k not in extra]
        if missing:
            raise StoreError(f"run {self.name!r}: record lacks the traces {missing}")
        self._buf.append((pack(w), np.array(energy, dtype=np.float64), np.array(acceptance, dtype=np.float64),
                          np.array(beta, dtype=np.float64), int(sweep),
                          {k: np.array(extra[k], dtype=np.float64) for k in self._extra}))

    def _flush_rows(self):
        if not self._buf:
            return self.n_written
        t0, k = self.n_written, len(self._buf)
        if t0 + k > self.g["sweep"].shape[0]:
            raise StoreError(f"run {self.name!r} is full ({self.g['sweep'].shape[0]} records)")
        cols = {
            "w": np.stack([b[0] for b in self._buf]),
            "energy": np.stack([b[1] for b in self._buf]),
            "acceptance": np.stack([b[2] for b in self._buf]),
            "beta": np.stack([b[3] for b in self._buf]),
            "sweep": np.array([b[4] for b in self._buf], dtype=np.int64),
        }
        for name in self._extra:
            cols[name] = np.stack([b[5][name] for b in self._buf])
        for key, arr in cols.items():
            self.g[key][t0 : t0 + k] = arr
        self._buf = []
        self.f.flush()
        return t0 + k

    def checkpoint(self, arrays: dict, sweep: int):
        """Write buffered rows, then the state into the free slot, then the counters."""
        n_new = self._flush_rows()
        cur = int(self._counters[C_SLOT])
        slot = 0 if cur < 0 else 1 - cur
        if "checkpoint_0" not in self.g:  # first checkpoint: create both slots
            with _structural(self.f):
                for s in (0, 1):
                    cg = self.g.create_group(f"checkpoint_{s}")
                    for k, v in arrays.items():
                        _fixed(cg, k, np.shape(v), np.asarray(v).dtype)
        cg = self.g[f"checkpoint_{slot}"]
        for k, v in arrays.items():
            v = np.asarray(v)
            if k not in cg or cg[k].shape != v.shape or cg[k].dtype != v.dtype:
                raise StoreError(f"checkpoint array {k!r} changed shape or type during run {self.name!r}")
            cg[k][...] = v
        self.f.flush()
        # The commit point: one 32-byte raw write.
        self._counters[...] = np.array([n_new, slot, n_new, int(sweep)], dtype=np.int64)
        self.f.flush()
        self.n_written = n_new

    def close(self):
        # Records after the last checkpoint are dropped on purpose: without a matching
        # checkpoint they could not be resumed consistently; resume recomputes them.
        self._buf = []
        if self._owns and self.f.id.valid:
            self.f.close()


def open_run_writer(path, name, spec: RunSpec, instance, *, overwrite=False) -> RunWriter:
    """Create ``/runs/<name>`` in the store at ``path`` (created with ``instance`` if
    missing; refused if the store holds another instance or the run exists, unless
    ``overwrite``)."""
    _check_name(name)
    bad = [k for k in spec.extra_traces if k in RESERVED or not isinstance(k, str) or not k or "/" in k]
    if bad:
        raise StoreError(f"extra trace names {bad} are not allowed (reserved: {', '.join(sorted(RESERVED))})")
    f = _ensure_store(path, instance)
    try:
        if name in f.get("runs", {}):
            _check_run_free(f["runs"], name, path, overwrite)
        with _structural(f):
            g = _create_run(f, name, spec, instance)
    except BaseException:
        f.close()
        raise
    return RunWriter(f, g, instance.n)


def _create_run(f, name, spec, instance):
    """``/runs/<name>`` (replacing one of that name) with its datasets; inside _structural."""
    runs = f.require_group("runs")
    if name in runs:
        del runs[name]
    g = runs.create_group(name)
    _spec_attrs(g, spec)
    g.attrs["created"] = _now()
    g.attrs["package_version"] = _versions()["package_version"]
    g.attrs["w_encoding"] = W_ENCODING
    g.attrs["chain_layout"] = (
        "column c of each trace is chain c; with n_temperatures K > 1, column c*K + k is chain c at "
        "temperature index k (ascending beta)"
    )
    C, nb = spec.n_columns, (instance.n + 7) // 8
    _create_traces(g, spec.n_sweeps // spec.record_every, C, nb, instance.n, spec.extra_traces)
    counters = _fixed(g, "counters", (4,), np.int64, data=np.array([0, -1, 0, 0]))
    counters.attrs["description"] = "n_written, checkpoint_slot, checkpoint_records, checkpoint_sweep"
    return g


class RunResumer:
    """Everything :func:`spinglass_nets.samplers.resume` needs from a stored run."""

    def __init__(self, path, name):
        self.f, _ = _open(path, "r+")
        try:
            if "runs" not in self.f or name not in self.f["runs"]:
                have = sorted(self.f["runs"]) if "runs" in self.f else []
                raise StoreError(f"no run {name!r} in {str(path)!r}; runs: {', '.join(have) or 'none'}")
            self.g = self.f["runs"][name]
            self.spec = _spec_of(self.g)
            self.instance = _read_instance(self.f, path)
            cnt = self.g["counters"][()]
            slot = int(cnt[C_SLOT])
            if slot < 0:
                raise StoreError(f"run {name!r} has no checkpoint; start it again with overwrite")
            cg = self.g[f"checkpoint_{slot}"]
            self.checkpoint = {k: cg[k][()] for k in cg}
            self.sweep = int(cnt[C_SWEEP])
            records = int(cnt[C_RECORDS])
            if int(cnt[C_WRITTEN]) != records:  # cannot happen with this writer; be strict
                raise StoreError(f"run {name!r} has inconsistent counters {cnt.tolist()}")
            self.writer = RunWriter(self.f, self.g, self.instance.n, owns_file=False)
        except BaseException:
            self.f.close()
            raise

    def extend(self, n_sweeps):
        """Grow the run to ``n_sweeps``: new full-size datasets, the written rows copied."""
        T = int(n_sweeps) // self.spec.record_every
        g = self.g
        keep = int(g["counters"][C_WRITTEN])
        extra = self.spec.extra_traces
        old = {k: g[k][:keep] for k in ("w", *TRACES, *extra, "sweep")}
        with _structural(self.f):
            for k in old:
                del g[k]
            _create_traces(g, T, self.spec.n_columns, (self.instance.n + 7) // 8, self.instance.n, extra)
            for k, v in old.items():
                g[k][:keep] = v
            g.attrs["n_sweeps"] = int(n_sweeps)
        self.spec = _spec_of(g)

    def close(self):
        if self.f.id.valid:
            self.f.close()


def open_run_resumer(path, name) -> RunResumer:
    return RunResumer(path, name)


# ---------------------------------------------------------------------------- reading
class RunReader:
    """Read access to one run (emcee-style ``samples(discard=, thin=, flat=)``)."""

    def __init__(self, g, n, verify=None):
        self._g = g
        self.n = n
        self.name = g.name.rsplit("/", 1)[-1]
        self._live = verify is not None
        self._verify = verify
        self.refresh()

    @_live_guarded
    def refresh(self) -> "RunReader":
        """Read the counters again. A reader is a snapshot: ``n_written`` and every array it
        returns stay consistent with each other until this is called (on a store that a run
        is writing, see :attr:`Store.live`, it then shows the records of the newest
        checkpoint). Returns the reader."""
        c = self._g["counters"][()]
        if self._live:  # the writer may be rewriting these 32 bytes right now: two equal reads
            for _ in range(1000):
                d = self._g["counters"][()]
                if np.array_equal(c, d):
                    break
                c = d
        n_sweeps = int(self._g.attrs["n_sweeps"])
        if not 0 <= int(c[C_WRITTEN]) <= self._g["sweep"].shape[0]:
            raise StoreError(f"run {self.name!r} has inconsistent counters {c.tolist()}")
        self._counters, self._n_sweeps = c, n_sweeps
        return self

    @property
    @_live_guarded
    def attrs(self) -> dict:
        """Run attributes; JSON attributes are decoded."""
        out = {}
        for k, v in self._g.attrs.items():
            if k in ("params", "seed"):
                v = json.loads(v)
            elif isinstance(v, np.generic):
                v = v.item()
            out[k] = v
        return out

    @property
    @_live_guarded
    def spec(self) -> RunSpec:
        return _spec_of(self._g)

    @property
    def n_written(self) -> int:
        """Complete records (rows past it, if any, are ignored)."""
        return int(self._counters[C_WRITTEN])

    @property
    def sweeps_done(self) -> int:
        """Sweeps covered by the last checkpoint."""
        return int(self._counters[C_SWEEP])

    @property
    def finished(self) -> bool:
        return int(self._counters[C_SWEEP]) >= self._n_sweeps

    @property
    def resumable(self) -> bool:
        """Not finished and holds a checkpoint (a run killed before its first one has none)."""
        return not self.finished and int(self._counters[C_SLOT]) >= 0

    @_live_guarded
    def _rows(self, key, discard, thin):
        if isinstance(discard, bool) or not isinstance(discard, (int, np.integer)) or discard < 0:
            raise ValueError(f"discard={discard!r} must be an integer >= 0")
        if isinstance(thin, bool) or not isinstance(thin, (int, np.integer)) or thin < 1:
            raise ValueError(f"thin={thin!r} must be an integer >= 1")
        return self._g[key][discard : self.n_written : thin]

    def _flat(self, x, flat):
        return x.reshape((-1,) + x.shape[2:]) if flat else x

    def samples(self, discard: int = 0, thin: int = 1, flat: bool = False) -> np.ndarray:
        """Configurations, (T, C, N) int8 (``flat``: (T*C, N))."""
        return self._flat(unpack(self._rows("w", discard, thin), self.n), flat)

    def energies(self, discard=0, thin=1, flat=False) -> np.ndarray:
        """Energies, (T, C) (``flat``: (T*C,))."""
        return self._flat(self._rows("energy", discard, thin), flat)

    def acceptance(self, discard=0, thin=1, flat=False) -> np.ndarray:
        return self._flat(self._rows("acceptance", discard, thin), flat)

    def betas(self, discard=0, thin=1, flat=False) -> np.ndarray:
        return self._flat(self._rows("beta", discard, thin), flat)

    @_live_guarded
    def trace_names(self) -> list:
        """Names of the (T, C) traces: energy, acceptance, beta and the sampler's extras."""
        return [*TRACES, *json.loads(self._g.attrs.get("extra_traces", "{}"))]

    def trace(self, name, discard=0, thin=1, flat=False) -> np.ndarray:
        """Any (T, C) trace by name (``flat``: (T*C,)), e.g. ``trace("free_entropy")`` of an
        EdMC run; see :meth:`trace_names`."""
        names = self.trace_names()
        if name not in names:
            raise StoreError(f"run {self.name!r} has no trace {name!r}; traces: {', '.join(names)}")
        return self._flat(self._rows(name, discard, thin), flat)

    def sweeps(self, discard=0, thin=1) -> np.ndarray:
        return self._rows("sweep", discard, thin)


class Store:
    """An open store. Use :func:`open_store`; a context manager.

    Read-only opens (``mode="r"``, the default) cannot write: h5py refuses every write.

    Attributes
    ----------
    live : bool
        Another process was writing the store (a run) and it was opened without HDF5's lock:
        see the module docstring. A :class:`RunReader` shows the last checkpoint (``refresh()``
        for a newer one); runs created or overwritten after the open are not seen.
    """

    def __init__(self, path, mode="r"):
        if mode not in ("r", "r+"):
            raise ValueError(f"mode={mode!r} is not allowed; choose 'r' or 'r+'")
        self.path = Path(path)
        self.mode = mode
        self._f, self._gen = _open(path, mode, live_ok=True)
        self.live = self._live = self._gen is not None

    def refuse_live(self):
        """Raise the "open in another process" :class:`StoreError` on a live view: a command
        that will write to this store checks this before computing."""
        if self.live:
            raise _busy(self.path, "r+")

    def _verify(self):
        """Raise :class:`StoreError` if the structure changed since this live view opened."""
        if int(self._f[GENERATION][0]) != self._gen:
            raise _changed(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._f.id.valid:
            self._f.close()

    @property
    @_live_guarded
    def attrs(self) -> dict:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self._f.attrs.items()}

    @_live_guarded
    def instance(self) -> PerceptronInstance:
        return _read_instance(self._f, self.path)

    @_live_guarded
    def runs(self) -> list:
        return sorted(self._f["runs"]) if "runs" in self._f else []

    @_live_guarded
    def run(self, name) -> RunReader:
        if name not in self.runs():
            raise StoreError(f"no run {name!r} in {str(self.path)!r}; runs: {', '.join(self.runs()) or 'none'}")
        return RunReader(self._f["runs"][name], int(self._f["instance"].attrs["n"]),
                         verify=self._verify if self.live else None)

    @_live_guarded
    def _named(self, group, name):
        if group not in self._f or name not in self._f[group]:
            have = sorted(self._f[group]) if group in self._f else []
            raise StoreError(f"no /{group}/{name} in {str(self.path)!r}; have: {', '.join(have) or 'none'}")
        g = self._f[group][name]
        return {k: g[k][()] for k in g}, json.loads(g.attrs["params"])

    @_live_guarded
    def analyses(self) -> list:
        return sorted(self._f["analysis"]) if "analysis" in self._f else []

    def analysis(self, name):
        """(arrays dict, params dict) of ``/analysis/<name>``."""
        return self._named("analysis", name)

    @_live_guarded
    def theories(self) -> list:
        return sorted(self._f["theory"]) if "theory" in self._f else []

    def theory(self, name):
        """(arrays dict, params dict) of ``/theory/<name>``."""
        return self._named("theory", name)

    def _writable(self):
        if self.mode == "r":
            raise StoreError(f"{str(self.path)!r} is open read-only; open it with mode='r+' to write")

    def write_analysis(self, name, arrays: dict, params: dict, *, overwrite: bool = False) -> None:
        """Write ``/analysis/<name>`` (refused on a read-only store)."""
        self._writable()
        self._write_named("analysis", name, arrays, params, overwrite)

    def write_theory(self, name, arrays: dict, params: dict, *, overwrite: bool = False) -> None:
        """Write ``/theory/<name>`` (refused on a read-only store)."""
        self._writable()
        self._write_named("theory", name, arrays, params, overwrite)

    def _write_named(self, group, name, arrays, params, overwrite):
        _check_name(name)
        if not overwrite and name in self._f.get(group, {}):
            raise StoreError(f"/{group}/{name} exists in {str(self.path)!r}; pass overwrite=True to replace it")
        with _structural(self._f):
            _replace_named(self._f, group, name, arrays, params)

    @_live_guarded
    def describe(self) -> dict:
        """JSON-able summary: root attributes, instance, runs with their progress."""
        out = {"path": str(self.path), "attrs": self.attrs, "live": self.live}
        if "instance" in self._f:
            out["instance"] = self.instance().describe()
        out["runs"] = {}
        for name in self.runs():
            r = self.run(name)
            a = r.attrs
            out["runs"][name] = {
                "sampler": a["sampler"], "params": a["params"], "n_chains": a["n_chains"],
                "n_temperatures": a["n_temperatures"], "n_sweeps": a["n_sweeps"],
                "record_every": a["record_every"], "records": r.n_written,
                "sweeps_done": r.sweeps_done, "finished": r.finished, "resumable": r.resumable,
                "energy": a["energy"],
                "traces": r.trace_names(),
            }
        out["analysis"] = self.analyses()
        out["theory"] = self.theories()
        return out


def open_store(path, mode: str = "r") -> Store:
    """Open a sample store (``mode="r"`` read-only, ``"r+"`` read-write).

    Refuses files that are not stores, or whose schema version is missing or newer, with
    :class:`~spinglass_nets.errors.SchemaError`. A store that a run in another process is
    writing opens read-only as a live view (:attr:`Store.live`); ``"r+"`` is then refused
    with :class:`~spinglass_nets.errors.StoreError` until that process closes it.
    """
    return Store(path, mode)


def environment() -> dict:
    """Versions recorded in every store (also printed by ``spinglass-nets info``)."""
    return {**_versions(), "platform": sys.platform}
