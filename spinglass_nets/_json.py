"""JSON encoding of NumPy values (store attributes, ``--json`` output)."""

import numpy as np


def json_default(o):
    """``json.dumps(..., default=json_default)``: arrays become lists, NumPy scalars numbers."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
