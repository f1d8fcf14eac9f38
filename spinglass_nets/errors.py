"""Named exceptions and warnings of spinglass_nets.

Bad parameters raise :class:`ValueError` (or a subclass of it) with one line naming the
value and what is allowed; the CLI turns every :class:`SpinglassError` and ``ValueError``
into that one line on stderr and exit status 2.
"""


class SpinglassError(Exception):
    """Base class of the package's own errors."""


class StoreError(SpinglassError, ValueError):
    """An HDF5 sample store is missing, malformed, read-only, or would be overwritten."""


class SchemaError(StoreError):
    """A file is not a spinglass_nets store, or its schema version is missing or newer."""


def as_real(name, value) -> float:
    """``float(value)`` for a real number (bools refused), else one ValueError naming ``name``
    (range checks stay with the caller)."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise ValueError(f"{name}={value!r} must be a real number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a real number") from None


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance (result has converged=False)."""
