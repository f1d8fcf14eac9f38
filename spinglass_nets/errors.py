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


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance (result has converged=False)."""
