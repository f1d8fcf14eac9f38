"""Opening stores: HDF5 file locks, live views and the structure seqlock.

Concurrent reading: HDF5 locks a file open for writing; a read-only open of a store that a
run is writing falls back to a lock-free *live view*, safe because of the crash-safety rule
(package docstring: only raw bytes change during a run) and a seqlock for everything else:
every change of the file's structure (a run created, overwritten or extended, checkpoint
slots, analyses, theory curves) is bracketed by the root dataset ``generation`` (odd while the change lasts, flushed before
and after it). A live view is opened only at an even generation and checks, after every read,
that it has not moved; otherwise the read raises :class:`StoreError` (open it again). Write
opens wait briefly for readers, which hold a shared lock.
"""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from ..errors import SchemaError, StoreError

SCHEMA_VERSION = 1
CREATOR = "spinglass_nets"
LIBVER = ("earliest", "v110")


# ------------------------------------------------------------------------- file opening
def _busy(path, mode):
    if mode == "r":
        who, what = "a run writing it", "read"
    else:
        who, what = "a run writing it, or a program reading it", "write to"
    return StoreError(f"store {str(path)!r} is open in another process ({who}): cannot {what} it until that "
                      "process closes it")


WRITE_WAIT_S = 5.0  # how long a write open waits for other processes to close the file
GENERATION = "generation"  # root (1,) int64: the structure seqlock of live views


def _live_guarded(method):
    """Reads of a live view (``self._live``) are checked after the fact: if the store's
    structure changed meanwhile (``self._verify``), the result, or the error, is replaced by
    one :class:`StoreError` (open the store again)."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            out = method(self, *args, **kwargs)
        except Exception:
            if self._live:
                self._verify()  # a structural change explains the error
            raise
        if self._live:
            self._verify()
        return out

    return guarded


def _changed(path):
    return StoreError(f"store {str(path)!r} changed its structure under this live view (another process is "
                      "writing it); open it again")


def _h5_open(path, mode):
    """``h5py.File``; a write open waits up to ``WRITE_WAIT_S`` for readers to close it
    (HDF5 locks a file against writers while any process reads it)."""
    deadline = time.monotonic() + (WRITE_WAIT_S if mode != "r" else 0.0)
    while True:
        try:
            return h5py.File(path, mode, libver=LIBVER)
        except BlockingIOError:
            if time.monotonic() + 0.02 > deadline:
                raise
            time.sleep(0.02)


def _live_handle(path):
    """A lock-free read-only open with HDF5's sieve buffer off (every read of the generation
    and of the counters reaches the file); returns ``(file, generation)``, the generation -1
    for a store that is not readable yet or predates live views."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_V110)
    fapl.set_sieve_buf_size(0)
    try:
        fapl.set_file_locking(False, True)
        f = h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY, fapl=fapl))
    except (OSError, ValueError, AttributeError):  # mid-creation, or a library without lock control
        raise _busy(path, "r") from None
    try:
        _check_schema(f, path)
        return f, (int(f[GENERATION][0]) if GENERATION in f else -1)
    except Exception:  # a store still being created looks like no store yet
        f.close()
        return None, -1


def _open_live(path):
    """A live view: ``(file, generation)``. The open reads the superblock and root metadata,
    so it is bracketed like any read: a generation read before it (by a first open) must equal
    the one read after it, and be even (no structural change ran meanwhile)."""
    for _ in range(5):
        f, before = _live_handle(path)
        if f is not None:
            f.close()
        f, after = _live_handle(path)
        if before == after and after >= 0 and after % 2 == 0:
            return f, after
        if f is not None:
            f.close()
        time.sleep(0.02)
    raise _busy(path, "r")  # restructuring now, or a store from before live views


def _open(path, mode, live_ok=False):
    """Open and check a store; returns ``(file, generation)``, the generation being None for
    a normal open and the (even) structure generation of a live view. With ``live_ok`` a
    read-only open of a store locked by a writing process falls back to a live view."""
    path = Path(path)
    if mode == "r" and not path.exists():
        raise StoreError(f"store {str(path)!r} does not exist")
    if path.is_dir():
        raise StoreError(f"{str(path)!r} is a folder, not a store")
    if mode != "r" and path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"store {str(path)!r} is read-only: cannot write to it")
    try:
        f = _h5_open(path, mode)
    except BlockingIOError:  # locked by another process (EAGAIN from the HDF5 file lock)
        if mode != "r" or not live_ok:  # a write, or a check made before one
            raise _busy(path, "r+") from None
        return _open_live(path)
    except OSError as exc:
        detail = " ".join(f"{exc.__class__.__name__}: {exc}".split())  # HDF5 messages span lines
        if "locking flag values don't match" in detail:  # HDF5 would share that view's stale metadata
            raise StoreError(f"a live view of store {str(path)!r} is open in this process: close it, then open "
                             "the store again") from None
        if "already open for read-only" in detail:
            raise StoreError(f"store {str(path)!r} is open read-only in this process: close it before writing "
                             "to it") from None
        raise StoreError(f"{str(path)!r} is not a readable HDF5 store ({detail})") from None
    try:
        _check_schema(f, path)
    except Exception:
        f.close()
        raise
    if mode != "r" and GENERATION in f and int(f[GENERATION][0]) % 2:
        # A writer killed inside a structural change: this writer holds the lock, so the
        # structure is whatever that process left (as for any open); live views may resume.
        f[GENERATION][0] = int(f[GENERATION][0]) + 1
        f.flush()
    return f, None


def _check_schema(f, path):
    if f.attrs.get("creator") != CREATOR:
        raise SchemaError(f"{str(path)!r} is not a spinglass_nets store (no creator attribute)")
    if "schema_version" not in f.attrs:
        raise SchemaError(f"{str(path)!r} has no schema_version; cannot read it")
    v = int(f.attrs["schema_version"])
    if v > SCHEMA_VERSION:
        raise SchemaError(
            f"{str(path)!r} has schema_version {v}, newer than this package reads ({SCHEMA_VERSION}); upgrade spinglass_nets"
        )


@contextmanager
def _structural(f):
    """Bracket a change of the file's structure for live readers (module docstring): the
    generation is odd, and flushed, before anything changes, and even again after the final
    flush. A store written before live views gets the dataset here."""
    if GENERATION not in f:
        _fixed(f, GENERATION, (1,), np.int64, data=np.ones(1, np.int64))
    gen = f[GENERATION]
    v = int(gen[0]) | 1
    gen[0] = v
    f.flush()
    try:
        yield
    finally:
        f.flush()
        gen[0] = v + 1
        f.flush()


def _fixed(g, name, shape, dtype, data=None):
    """A contiguous dataset allocated at creation: later writes change raw bytes only."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    ds = g.create_dataset(name, shape=shape, dtype=dtype, dcpl=dcpl)
    if data is not None:
        ds[...] = data
    return ds
