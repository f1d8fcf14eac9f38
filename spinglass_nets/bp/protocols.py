"""Focusing protocols as data: one (gamma, y, beta) triple per protocol step.

Focusing BP (Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti and Zecchina, PNAS 113,
E7655 (2016), "Unreasonable effectiveness of learning neural networks", SI section "fBP")
runs BP on y replicas of the weights coupled with strength gamma to a centre; with the
replicas symmetric, each weight feels the extra field
``atanh(tanh(gamma) tanh((y - 1) atanh(tanh(gamma) tanh(h_i))))`` (see
:func:`spinglass_nets.bp._kernels.focusing_field`). A *protocol* increases y and/or gamma
step by step, so that the measure focuses on the densest region and finally on one
configuration. beta is the inverse temperature of the pattern constraints (``inf``: hard).

A :class:`Protocol` holds three float64 arrays of equal length T; ``gamma = inf`` and
``beta = inf`` are allowed. Protocols are plain data: :meth:`Protocol.to_dict` /
:meth:`Protocol.from_dict` round-trip through JSON/HDF5 attributes.

The constructors follow the parametrisations of the authors' reference implementation
(BinaryCommitteeMachineFBP.jl, same paper):

- :func:`standard_reinforcement`: ``gamma = inf``, ``y = 1 / (1 - rho)``;
- :func:`scoping`: fixed y, a ramp of gamma;
- :func:`pseudo_reinforcement`: ``gamma = atanh(rho^x)``, ``y = 1 + rho^(1 - 2x) / (1 - rho)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Protocol:
    """A focusing protocol: arrays ``gamma``, ``y``, ``beta`` of shape (T,), float64.

    Constraints: ``gamma >= 0`` (inf allowed), ``1 <= y < inf``, ``beta > 0`` (inf allowed).
    """

    gamma: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    name: str = "custom"

    def __post_init__(self):
        arrs = []
        for nm in ("gamma", "y", "beta"):
            a = np.array(getattr(self, nm), dtype=np.float64)
            if a.ndim == 0:
                a = a.reshape(1)
            if a.ndim != 1 or a.size == 0:
                raise ValueError(f"protocol {nm} must be a non-empty 1-d array, got shape {a.shape}")
            arrs.append(a)
        t = max(a.size for a in arrs)
        out = []
        for nm, a in zip(("gamma", "y", "beta"), arrs):
            if a.size == 1:
                a = np.full(t, a[0])
            elif a.size != t:
                raise ValueError(f"protocol {nm} has length {a.size}; every array must have length {t} (or 1)")
            if np.any(np.isnan(a)):
                raise ValueError(f"protocol {nm} contains nan")
            a.setflags(write=False)
            out.append(a)
        g, y, b = out
        if np.any(g < 0):
            raise ValueError(f"protocol gamma must be >= 0 (inf allowed), got min {g.min()}")
        if np.any(y < 1) or not np.all(np.isfinite(y)):
            raise ValueError(f"protocol y must be finite and >= 1, got range [{y.min()}, {y.max()}]")
        if np.any(b <= 0):
            raise ValueError(f"protocol beta must be > 0 (inf allowed), got min {b.min()}")
        object.__setattr__(self, "gamma", g)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "beta", b)

    def __len__(self):
        return self.gamma.size

    def __iter__(self):
        for k in range(len(self)):
            yield float(self.gamma[k]), float(self.y[k]), float(self.beta[k])

    def to_dict(self) -> dict:
        """JSON-able form (inf written as the string "inf")."""
        enc = lambda a: [("inf" if math.isinf(v) else float(v)) for v in a]  # noqa: E731
        return {"name": self.name, "gamma": enc(self.gamma), "y": enc(self.y), "beta": enc(self.beta)}

    @classmethod
    def from_dict(cls, d: dict) -> "Protocol":
        """Inverse of :meth:`to_dict`."""
        dec = lambda a: np.array([float(v) for v in a])  # noqa: E731
        return cls(gamma=dec(d["gamma"]), y=dec(d["y"]), beta=dec(d["beta"]), name=d.get("name", "custom"))


def _rho_grid(step, rho_max):
    step = float(step)
    rho_max = float(rho_max)
    if not 0 < step < 1:
        raise ValueError(f"step={step!r} must be in (0, 1)")
    if not 0 <= rho_max < 1:
        raise ValueError(f"rho_max={rho_max!r} must be in [0, 1)")
    k = int(math.floor(rho_max / step + 1e-9))
    return np.arange(k + 1) * step


def standard_reinforcement(step=0.01, rho_max=0.99, beta=math.inf) -> Protocol:
    """Standard reinforcement: ``gamma = inf``, ``y = 1 / (1 - rho)``, rho = 0, step, ... <= rho_max.

    With gamma = inf the focusing field is ``(y - 1) h``: the marginal of BP is raised to the
    power y (reinforcement, Braunstein and Zecchina, PRL 96, 030201 (2006)). Endpoints:
    ``y[0] = 1`` (plain BP), ``y[-1] = 1 / (1 - rho_max)``.
    """
    rho = _rho_grid(step, rho_max)
    return Protocol(gamma=np.full(rho.size, math.inf), y=1.0 / (1.0 - rho), beta=np.full(rho.size, float(beta)),
                    name="standard_reinforcement")


def scoping(gammas, y, beta=math.inf) -> Protocol:
    """Scoping: fixed number of replicas ``y`` and the given (increasing) ``gammas``."""
    g = np.asarray(gammas, dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"gammas must be a non-empty 1-d array, got shape {g.shape}")
    return Protocol(gamma=g, y=np.full(g.size, float(y)), beta=np.full(g.size, float(beta)), name="scoping")


def pseudo_reinforcement(step=0.01, rho_max=0.99, x=0.5, beta=math.inf) -> Protocol:
    """Pseudo-reinforcement: ``gamma = atanh(rho^x)``, ``y = 1 + rho^(1 - 2x) / (1 - rho)``.

    Both the coupling and the number of replicas grow with rho (rho = step, 2 step, ... <= rho_max;
    rho = 0 is skipped since ``rho^(1-2x)`` is singular there for x > 1/2). ``x = 0`` gives
    gamma = inf and ``y = 1/(1 - rho)``, i.e. :func:`standard_reinforcement`; ``x = 1/2`` gives
    ``gamma = atanh(sqrt(rho))`` and ``y = 1 + 1/(1 - rho)``.
    """
    x = float(x)
    if not 0 <= x <= 1:
        raise ValueError(f"x={x!r} must be in [0, 1]")
    rho = _rho_grid(step, rho_max)[1:]
    if rho.size == 0:
        raise ValueError(f"rho_max={rho_max!r} must be >= step={step!r}")
    with np.errstate(divide="ignore"):  # x = 0: rho^0 = 1 and gamma = atanh(1) = inf, on purpose
        gamma = np.arctanh(rho**x)
    y = 1.0 + rho ** (1.0 - 2.0 * x) / (1.0 - rho)
    return Protocol(gamma=gamma, y=y, beta=np.full(rho.size, float(beta)), name="pseudo_reinforcement")


def as_protocol(protocol) -> Protocol:
    """Accept a :class:`Protocol`, a dict from :meth:`Protocol.to_dict`, or a (T, 3) array."""
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, dict):
        return Protocol.from_dict(protocol)
    try:
        arr = np.asarray(protocol, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.ndim == 2 and arr.shape[1] == 3:
        return Protocol(gamma=arr[:, 0], y=arr[:, 1], beta=arr[:, 2])
    raise ValueError("protocol must be a Protocol, a dict from Protocol.to_dict(), or a (T, 3) array of (gamma, y, beta)")
