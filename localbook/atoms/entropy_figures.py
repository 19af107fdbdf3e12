"""The figures of chapter 04 (vibrational entropies of defects in iron), each drawn on axes the caller owns.

Every function takes matplotlib axes and data computed elsewhere (:mod:`localbook.atoms.entropy`,
:mod:`localbook.atoms.strain_audit`, :mod:`localbook.atoms.defect_database`, :mod:`localbook.regression`) and
returns what it drew as numbers, so that a test can check a figure without looking at it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mode_density", "strain_means", "strain_scan", "split_curve", "learning_curve", "local_contributions_3d"]


def mode_density(ax, spectra: dict, mass: float, bins: int = 40) -> dict:
    """Histograms of ``hbar omega`` (meV) of the non-zero modes, one per ``{label: eigenvalues (eV/A^2)}``;
    ``mass`` (amu). Returns ``{label: number of modes}``."""
    from localbook.atoms.entropy import log_hbar_omega
    out = {}
    for label, ev in spectra.items():
        hw = 1e3 * np.exp(np.asarray(log_hbar_omega(ev, mass).cpu()))
        ax.hist(hw, bins=bins, histtype="step", density=True, label=f"{label} ({len(ev) // 3} atoms)")
        out[label] = len(hw)
    ax.set_xlabel(r"$\hbar\omega$ (meV)")
    ax.set_ylabel("density of modes")
    ax.legend(fontsize=8)
    return out


def strain_means(ax, structures, kinds, n_cells: int = 4, value: str = "entropy_kb", title: str = "") -> dict:
    """Mean ``info[value]`` (k_B) of each defect kind against the strain (%), cells of ``n_cells`` only.

    Returns ``{kind: (strains (S,), means (S,))}``."""
    from localbook.atoms.defect_database import column
    kind, strain = column(structures, "kind"), column(structures, "strain")
    cells, y = column(structures, "n_cells"), column(structures, value).astype(float)
    out = {}
    for k in kinds:
        m = (kind == k) & (cells == n_cells)
        eps = np.array(sorted(set(strain[m].tolist())))
        means = np.array([y[m & (strain == e)].mean() for e in eps])
        ax.plot(100 * eps, means, marker="o", label=k)
        out[k] = (eps, means)
    ax.axvline(1.10, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("isotropic strain (%)")
    ax.set_ylabel(r"mean $S_f$ ($k_B$)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return out


def strain_scan(ax, scans: dict, crossings=(), key: str = "S_f") -> dict:
    """``S_f`` (k_B) against strain (%) of :func:`localbook.atoms.strain_audit.strain_scan` results,
    ``{label: (scan, column_suffix)}``, with the knot crossings ``(strain, shell, distance, knot)`` of
    :func:`~localbook.atoms.strain_audit.knot_crossings` as vertical lines. Returns ``{label: (S,) values}``."""
    out = {}
    for label, (scan, suffix) in scans.items():
        y = scan[key + suffix]
        ax.plot(100 * scan["strain"], y, marker=".", label=label)
        out[label] = y
    for eps, shell, r, knot in crossings:
        ax.axvline(100 * eps, color="0.6", lw=0.8, ls=":")
        ax.annotate(f"shell {shell}: {r:.3f} -> {knot:.1f} A", (100 * eps, ax.get_ylim()[1]), fontsize=7,
                    rotation=90, va="top", ha="right", color="0.4")
    ax.set_xlabel("isotropic strain (%)")
    ax.set_ylabel(r"$S_f$ ($k_B$)")
    ax.legend(fontsize=8)
    return out


def split_curve(ax, curve: dict, title: str = "") -> dict:
    """Test RMSE and MAE (mean and spread over repeats) against the training fraction (%) of
    :func:`localbook.regression.split_curve` (thesis fig. 3.5a). Returns ``{metric: (F,) means}``."""
    out = {}
    for metric in ("rmse", "mae"):
        m, sd = curve[metric].mean(1), curve[metric].std(1)
        ax.errorbar(100 * curve["fraction"], m, sd, marker="o", capsize=3, label=metric.upper())
        out[metric] = m
    ax.set_xlabel("training fraction (%)")
    ax.set_ylabel(r"test error ($k_B$)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    return out


def learning_curve(ax, curves: dict, metric: str = "rmse", baselines: dict | None = None) -> dict:
    """Test ``metric`` (mean and spread over folds, k_B) against the training size of
    :func:`localbook.regression.learning_curve` results ``{label: LearningCurve}`` on log-log axes, with each
    ``baselines[label]`` error as a horizontal line. Returns ``{label: (sizes, means)}``."""
    out = {}
    for label, c in curves.items():
        line = ax.errorbar(c.train_sizes, c.mean(metric), c.std(metric), marker="o", capsize=3, label=label)
        if baselines and label in baselines:
            ax.axhline(baselines[label], color=line[0].get_color(), ls="--", lw=0.8)
        out[label] = (np.asarray(c.train_sizes), c.mean(metric))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training configurations")
    ax.set_ylabel(f"test {metric.upper()} ($k_B$)")
    ax.legend(fontsize=8)
    return out


def local_contributions_3d(fig, atoms, s_i, title: str = ""):
    """The atoms of ``atoms`` coloured by their local entropy contributions ``s_i`` (k_B, ``(N,)``) on a 3-D
    axis added to ``fig``; returns the axis."""
    s_i = np.asarray(s_i, float)
    if s_i.shape != (len(atoms),):
        raise ValueError(f"s_i has shape {s_i.shape}, expected one value per atom ({len(atoms)},)")
    ax = fig.add_subplot(projection="3d")
    lim = float(np.abs(s_i).max()) or 1.0
    sc = ax.scatter(*atoms.positions.T, c=s_i, cmap="coolwarm", vmin=-lim, vmax=lim, s=25)
    fig.colorbar(sc, ax=ax, shrink=0.6, label=r"$S_i$ ($k_B$)")
    ax.set_title(title, fontsize=10)
    return ax
