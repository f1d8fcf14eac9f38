"""JSON encoding of NumPy values (store attributes, ``--json`` output)."""

import numpy as np


def json_default(o):
    """``json.dumps(..., default=json_default)``: arrays become lists, NumPy scalars numbers."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def strict(o, infinity=("inf", "-inf")):
    """A copy of ``o`` that strict JSON parsers accept (``json.dumps(..., allow_nan=False)``):
    arrays and NumPy scalars become lists and numbers, NaN becomes null and +-inf the values
    in ``infinity`` (default the strings ``"inf"`` / ``"-inf"``, which ``float()`` reads back;
    ``(None, None)``: null, for readers that turn null back into NaN)."""
    if isinstance(o, dict):
        return {str(k): strict(v, infinity) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [strict(v, infinity) for v in o]
    if isinstance(o, np.ndarray):
        return strict(o.tolist(), infinity)
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None if np.isnan(o) else infinity[0 if o > 0 else 1]
    return o
