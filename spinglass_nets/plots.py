"""Figures (matplotlib object API, Agg backend; the optional ``[plot]`` extra).

Each function takes plain dictionaries / arrays (what :mod:`spinglass_nets.analysis` and the
report produce), draws one figure with error bars and the theory curve, writes it to
``path`` (format by suffix, ``.png`` when there is none; through a temporary file and a
rename; an existing file only with ``overwrite=True``) and returns the path written.
matplotlib is imported inside the functions so that the package works without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "figure", "output_path", "save", "plot_entropy", "plot_psat", "plot_margins", "plot_local_entropy",
    "plot_samplers", "plot_flatness", "plot_analysis",
]

_COLORS = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7"]
# Kinds of stored analysis that plot_analysis draws (``params["what"]``, as written by ``analyze``).
PLOTTABLE = ("margins", "density", "overlaps", "local-entropy", "flatness")


def figure(ncols: int = 1, nrows: int = 1, size=(5.5, 4.0)):
    """A new (figure, axes) pair on the Agg canvas (no display needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("plots need matplotlib: pip install 'spinglass_nets[plot]'") from exc
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel() if axes.size > 1 else axes[0, 0]


def _formats() -> dict:
    """File formats matplotlib's Agg canvas writes (suffix without dot -> description)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("plots need matplotlib: pip install 'spinglass_nets[plot]'") from exc
    return FigureCanvasAgg.get_supported_filetypes()


def output_path(path, *, overwrite: bool = False) -> Path:
    """The file :func:`save` writes for ``path``, after checking that it may be written.

    A path without a suffix gets ``.png`` (matplotlib would add it silently, and callers
    must report the file that really exists). Refused, with one-line ``ValueError``: an
    unsupported suffix, an existing folder, an existing file unless ``overwrite``, a
    missing parent folder (as the stores do; nothing creates folders implicitly).

    Parameters
    ----------
    path : str or Path
        Requested output; its suffix picks the format.
    overwrite : bool
        Allow replacing an existing file.

    Returns
    -------
    Path
        The final path.
    """
    path = Path(path)
    # Checked before ".png" is added: a folder given as output is a mistake, not a stem.
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name such as {str(path / 'figure.png')!r}")
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    fmt = path.suffix[1:].lower()
    formats = _formats()
    if fmt not in formats:
        raise ValueError(f"{str(path)!r}: format {fmt!r} is not supported; use a suffix among "
                         f"{', '.join(sorted(formats))}")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name such as {str(path / 'figure.png')!r}")
    if path.exists() and not overwrite:
        raise ValueError(f"{str(path)!r} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if not path.parent.is_dir():
        raise ValueError(f"folder {str(path.parent)!r} does not exist")
    return path


def save(fig, path, *, overwrite: bool = False) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix; none: ``.png`` appended).

    The figure is drawn into a temporary file in the same folder and renamed into place, so
    a failure leaves neither a partial file nor a damaged old one. The folder must exist.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
    overwrite : bool
        Replace an existing file; without it an existing file is refused (see
        :func:`output_path`), as everywhere in the package.

    Returns
    -------
    Path
        The file written (``path``, with ``.png`` when it had no suffix).
    """
    from ._files import atomic_write

    path = output_path(path, overwrite=overwrite)
    # The temporary name ends in .tmp: the format must be named.
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=110),
                        overwrite=overwrite)


def _arr(x):
    return np.asarray([np.nan if v is None else v for v in x], dtype=float) if isinstance(x, list) else np.asarray(x, float)


def plot_entropy(data: dict, path, *, overwrite: bool = False) -> Path:
    """Exact quenched entropy (1/N) <log #solutions> against 1/N, per alpha, with s_RS.

    ``data``: ``{"alphas": [...], "per_alpha": {alpha: {"n": [...], "mean": [...],
    "error": [...], "s_rs": x, "s_ann": x, "fit": {"s_inf", "s_inf_error", "slope"}}}}``.
    """
    fig, ax = figure()
    for i, a in enumerate(data["alphas"]):
        d = data["per_alpha"][str(a)]
        n = _arr(d["n"])
        c = _COLORS[i % len(_COLORS)]
        ax.errorbar(1 / n, _arr(d["mean"]), yerr=_arr(d["error"]), fmt="o", color=c, capsize=3,
                    label=f"exact, alpha={a:g}")
        ax.axhline(d["s_rs"], color=c, ls="-", lw=1, label=f"s_RS({a:g}) = {d['s_rs']:.4f}")
        ax.axhline(d["s_ann"], color=c, ls=":", lw=1, label=f"annealed = {d['s_ann']:.4f}")
        fit = d.get("fit")
        if fit:
            x = np.linspace(0, 1.05 / n.min(), 20)
            ax.plot(x, fit["s_inf"] + fit["slope"] * x, color=c, ls="--", lw=0.8)
            ax.errorbar([0], [fit["s_inf"]], yerr=[fit["s_inf_error"]], fmt="s", color=c, mfc="none", capsize=3)
    ax.set_xlabel("1/N")
    ax.set_ylabel("(1/N) <log #solutions>")
    ax.set_xlim(left=-0.003)
    ax.set_title("Entropy of solutions: enumeration vs replica symmetry")
    ax.legend(fontsize=7)
    return save(fig, path, overwrite=overwrite)


def plot_psat(data: dict, path, *, overwrite: bool = False) -> Path:
    """P(instance has a solution) against alpha, per N, with alpha_c marked."""
    fig, ax = figure()
    for i, (n, d) in enumerate(sorted(data["per_n"].items(), key=lambda t: int(t[0]))):
        ax.errorbar(_arr(d["alphas"]), _arr(d["psat"]), yerr=_arr(d["error"]), fmt="o-", ms=4, capsize=3,
                    color=_COLORS[i % len(_COLORS)], label=f"N={n} ({d['n_instances']} instances)")
    ax.axvline(data["alpha_c"], color="k", ls="--", lw=1, label=f"alpha_c = {data['alpha_c']:.4f} (RS)")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.set_xlabel("alpha = P/N")
    ax.set_ylabel("P(SAT)")
    ax.set_title("Probability that an instance has solutions (exact)")
    ax.legend(fontsize=8)
    return save(fig, path, overwrite=overwrite)


def plot_margins(data: dict, path, *, overwrite: bool = False) -> Path:
    """Stability histograms (one panel per entry of ``data["panels"]``) with the RS density.

    Each panel: ``{"title", "series": [{"label", "edges", "density", "error"}],
    "theory_x", "theory_y", "kappa"}``.
    """
    panels = data["panels"]
    fig, axes = figure(ncols=len(panels))
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, panels):
        for i, s in enumerate(p["series"]):
            e = _arr(s["edges"])
            ctr = 0.5 * (e[1:] + e[:-1])
            ax.errorbar(ctr, _arr(s["density"]), yerr=_arr(s["error"]), xerr=0.5 * np.diff(e), fmt="o", ms=3,
                        capsize=2, color=_COLORS[i % len(_COLORS)], label=s["label"])
        ax.plot(_arr(p["theory_x"]), _arr(p["theory_y"]), "k-", lw=1.2, label="RS law (typical solutions)")
        ax.axvline(p.get("kappa", 0.0), color="gray", lw=0.5)
        ax.set_xlabel("stability Delta")
        ax.set_ylabel("density")
        ax.set_title(p["title"], fontsize=9)
        ax.legend(fontsize=7)
    return save(fig, path, overwrite=overwrite)


def plot_local_entropy(data: dict, path, *, overwrite: bool = False) -> Path:
    """Local entropy S(d) curves with error bars, Franz-Parisi curves and H2(d).

    ``data``: ``{"title", "series": [{"label", "d", "entropy", "error", "style"}],
    "theory": [{"label", "d", "entropy"}], "s_rs": x}``.
    """
    fig, ax = figure(size=(6.0, 4.5))
    d = np.linspace(1e-4, 0.5, 200)
    h2 = -d * np.log(d) - (1 - d) * np.log1p(-d)
    ax.plot(d, h2, color="gray", ls=":", lw=1, label="H2(d) (all configurations)")
    for i, t in enumerate(data.get("theory", [])):
        ax.plot(_arr(t["d"]), _arr(t["entropy"]), color=_COLORS[i % len(_COLORS)], ls="-", lw=1.3, label=t["label"])
    for s in data["series"]:
        y = _arr(s["entropy"])
        ok = np.isfinite(y)
        err = _arr(s["error"]) if s.get("error") is not None else None
        ax.errorbar(_arr(s["d"])[ok], y[ok], yerr=None if err is None else np.nan_to_num(err[ok]),
                    fmt=s.get("style", "o"), ms=3.5, capsize=2, color=s.get("color"), mfc=s.get("mfc"), label=s["label"])
    if data.get("s_rs") is not None:
        ax.axhline(data["s_rs"], color="k", lw=0.6, ls="--", label=f"s_RS = {data['s_rs']:.4f}")
    ax.axhline(0, color="k", lw=0.4)
    ax.set_xlim(0, data.get("d_max", 0.5))
    lo = data.get("y_min", -0.1)
    ax.set_ylim(lo, data.get("y_max", 0.75))
    ax.set_xlabel("d (Hamming distance / N)")
    ax.set_ylabel("S(d) = (1/N) log #solutions at distance d")
    ax.set_title(data.get("title", "Local entropy"), fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left")
    return save(fig, path, overwrite=overwrite)


def plot_samplers(data: dict, path, *, overwrite: bool = False) -> Path:
    """P(solved) and median time to solution against alpha, per sampler and N.

    ``data``: ``{"samplers": {name: {N: {"alphas", "p_solve", "p_error", "tts", "tts_lo",
    "tts_hi"}}}, "thresholds": {label: alpha}}``.
    """
    fig, (a1, a2) = figure(ncols=2)
    styles = {"anneal": "-", "tempering": "--"}
    markers = {"anneal": "o", "tempering": "s"}
    for name, per_n in data["samplers"].items():
        for i, (n, d) in enumerate(sorted(per_n.items(), key=lambda t: int(t[0]))):
            c = _COLORS[i % len(_COLORS)]
            al = _arr(d["alphas"])
            a1.errorbar(al, _arr(d["p_solve"]), yerr=_arr(d["p_error"]), ls=styles.get(name, "-"),
                        marker=markers.get(name, "o"), ms=4, capsize=2, color=c, label=f"{name} N={n}")
            t = _arr(d["tts"])
            ok = np.isfinite(t)
            if ok.any():
                lo, hi = _arr(d["tts_lo"]), _arr(d["tts_hi"])
                a2.errorbar(al[ok], t[ok], yerr=[t[ok] - lo[ok], hi[ok] - t[ok]], ls=styles.get(name, "-"),
                            marker=markers.get(name, "o"), ms=4, capsize=2, color=c, label=f"{name} N={n}")
    for j, (lab, x) in enumerate(data.get("thresholds", {}).items()):
        for ax in (a1, a2):
            ax.axvline(x, color="k", ls=[":", "--", "-."][j % 3], lw=0.9, label=lab if ax is a1 else None)
    a1.set_ylim(-0.05, 1.05)
    a1.set_xlabel("alpha")
    a1.set_ylabel("P(solution found)")
    a1.set_title(data.get("title", "Samplers: probability of solving"), fontsize=9)
    a1.legend(fontsize=5.5, loc="lower left", framealpha=0.6)
    a2.set_yscale("log")
    a2.set_xlabel("alpha")
    a2.set_ylabel("sweeps to first solution (median, solved runs)")
    a2.set_title("Time to solution (68% bootstrap band of the median)", fontsize=9)
    a2.legend(fontsize=6)
    return save(fig, path, overwrite=overwrite)


def plot_flatness(data: dict, path, *, overwrite: bool = False) -> Path:
    """Training error after random flips (local energy) against d, one curve per reference."""
    fig, ax = figure()
    for i, s in enumerate(data["series"]):
        ax.errorbar(_arr(s["d"]), _arr(s["energy"]), yerr=_arr(s["error"]), fmt="o-", ms=3, capsize=2,
                    color=_COLORS[i % len(_COLORS)], label=s["label"])
    ax.set_xlabel("d (fraction of flipped weights)")
    ax.set_ylabel("training error (fraction of violated patterns)")
    ax.set_title(data.get("title", "Flatness (local energy)"), fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, path, overwrite=overwrite)


def plot_analysis(arrays: dict, params: dict, path, *, overwrite: bool = False) -> Path:
    """Figure of one stored analysis (``/analysis/<name>``), chosen by ``params["what"]``.

    Parameters
    ----------
    arrays, params : dict
        What :meth:`spinglass_nets.store.Store.analysis` returns.
    path : str or Path
        Output file (see :func:`save`).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    what = params.get("what")
    if what not in PLOTTABLE:
        # Checked before drawing: analyses written by other commands (e.g. ``solve``) have no "what".
        raise ValueError(f"cannot plot an analysis of kind {what!r}; plottable kinds (written by analyze --what): "
                         f"{', '.join(PLOTTABLE)}")
    if what == "margins":
        x = np.linspace(min(arrays["edges"][0], params.get("kappa", 0.0)), arrays["edges"][-1], 300)
        ty = arrays.get("theory_curve")
        data = {"panels": [{
            "title": f"margins of run {params.get('run')} (N={params.get('n')}, alpha={params.get('alpha', 0):.3g})",
            "series": [{"label": "sampled", "edges": arrays["edges"], "density": arrays["density"],
                        "error": arrays["error"]}],
            "theory_x": arrays.get("theory_x", x) if ty is not None else [], "theory_y": ty if ty is not None else [],
            "kappa": params.get("kappa", 0.0)}]}
        return plot_margins(data, path, overwrite=overwrite)
    if what == "local-entropy":
        data = {"title": f"local entropy around {params.get('reference')} ({params.get('method')})",
                "series": [{"label": params.get("method", ""), "d": arrays["d"], "entropy": arrays["entropy"],
                            "error": arrays["error"]}],
                "theory": ([{"label": "Franz-Parisi (RS)", "d": arrays["theory_d"], "entropy": arrays["theory_entropy"]}]
                           if "theory_d" in arrays else [])}
        return plot_local_entropy(data, path, overwrite=overwrite)
    if what == "flatness":
        return plot_flatness({"series": [{"label": str(params.get("reference")), "d": arrays["d"],
                                          "energy": arrays["energy"], "error": arrays["error"]}]}, path,
                             overwrite=overwrite)
    fig, ax = figure()
    if what == "density":
        ax.errorbar(arrays["d"], arrays["fraction"], yerr=arrays["error"], fmt="o", ms=3, capsize=2, label="sampled")
        if "exact" in arrays:
            ax.plot(arrays["d"], arrays["exact"], "k-", lw=1, label="exact (enumeration)")
        ax.set_xlabel("d (distance to reference / N)")
        ax.set_ylabel("fraction of samples")
    elif what == "overlaps":
        e = np.asarray(arrays["edges"])
        ax.errorbar(0.5 * (e[1:] + e[:-1]), arrays["density"], yerr=arrays["error"], fmt="o", ms=3, capsize=2,
                    label="between chains")
        if "q_rs" in params:
            ax.axvline(params["q_rs"], color="k", ls="--", lw=1, label=f"RS q = {params['q_rs']:.3f}")
            ax.axvline(-params["q_rs"], color="k", ls="--", lw=1)
        ax.set_xlabel("q")
        ax.set_ylabel("P(q)")
    ax.set_title(f"{what} of run {params.get('run')}", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, path, overwrite=overwrite)
