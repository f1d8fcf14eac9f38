"""Writing new files safely: through a temporary file in the same folder and an atomic
rename, so a failure never leaves a partial file and an existing file is replaced only when
asked (stores, figures)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path, write, *, overwrite: bool = False, error=ValueError) -> Path:
    """Create ``path`` by ``write(tmp)`` on a temporary name beside it, then rename.

    Parameters
    ----------
    path : str or Path
    write : callable(str)
        Writes the whole file at the temporary path it is given.
    overwrite : bool
        Replace an existing ``path`` (else refused, also if it appears while writing).
    error : type
        Exception raised for a refused path (the caller's error class).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise error(f"{str(path)!r} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if not path.parent.exists():
        raise error(f"folder {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; these are ordinary files
    try:
        write(tmp)
        if path.exists() and not overwrite:
            raise error(f"{str(path)!r} appeared while it was written; pass overwrite=True (CLI: --overwrite)")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
