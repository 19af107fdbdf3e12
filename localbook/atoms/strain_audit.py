"""Why formation entropies of the tabulated EAM jump with strain: a scan and the knots it crosses.

Chapter 04's audit (issue 18) traced the "+1 % peak" of every defect kind in the first AM04 database to two
properties of the potential, both measured here:

* The EAM functions of Ackland et al. (2004) are cubic splines with knots every 0.1 A between 2.2 and 2.8 A
  (:mod:`localbook.atoms.eam_tables`): the curvature ``phi''`` is continuous but its slope ``phi'''`` jumps at
  each knot (by -15 eV/A^3 at 2.5 A). In the perfect crystal the eight first neighbours of every atom sit at
  the same distance ``sqrt(3) a / 2`` and cross the 2.5 A knot together, at a strain of +1.10 %; the bulk
  reference's vibrational entropy changes slope there at once, while the neighbours of a defect, spread by
  its strain field, cross over a range of strains. ``S_f = (N_d/N_b) S_b - S_d`` (thesis eq. 3.3) therefore
  has a cusp at +1.10 % for every defect kind, and falls steeply above it.
* With ``interpolation="table"`` (splines through the rounded table points, as ASE and, with its own
  interpolation, LAMMPS) the curvatures also carry rounding noise at the table spacing, a jitter of a few
  tenths of k_B from one strain to the next.

:func:`strain_scan` re-relaxes one defect at a series of strains and records ``S_f`` with both terms of
eq. 3.3; :func:`knot_crossings` lists the strains at which a neighbour shell of the perfect crystal crosses
a knot of the potential.
"""
from __future__ import annotations

import numpy as np

__all__ = ["strain_scan", "knot_crossings", "BCC_SHELLS"]

#: squared distances (in units of a0^2) and multiplicities of the first five neighbour shells of bcc
BCC_SHELLS = ((3 / 4, 8), (1.0, 6), (2.0, 12), (11 / 4, 24), (3.0, 8))


def strain_scan(atoms, potential, a0: float, n_cells: int, strains, fmax: float = 1e-6,
                hessian_potentials=None) -> dict:
    """Formation entropy of one defect against isotropic strain, each strained copy re-relaxed at fixed cell.

    ``atoms``: a relaxed defect in the cubic cell of ``n_cells`` conventional cells of side ``a0`` (A);
    ``potential`` relaxes (any object with ``relax``, ``hessian``, ``mass``); ``hessian_potentials``:
    ``{label: potential}`` whose Hessians give the entropies (default ``{"": potential}``), each against the
    perfect cell at the same strain. Returns ``{"strain": (S,), "energy": (S,) eV, "max_displacement": (S,) A``
    (largest move on re-relaxation, a change of configuration shows as a jump), and per label
    ``"S_f<label>"``, ``"bulk<label>"`` = ``(N_d/N_b) sum_b ln(hbar omega_b)`` and ``"defect<label>"`` =
    ``sum_d ln(hbar omega_d)`` (k_B), so that ``S_f = bulk - defect``.
    """
    from localbook.atoms.defects import bcc_supercell
    from localbook.atoms.entropy import check_minimum, hessian_eigenvalues, log_hbar_omega
    hessian_potentials = hessian_potentials or {"": potential}
    strains = np.asarray(strains, float)
    out = {"strain": strains, "energy": np.empty(len(strains)), "max_displacement": np.empty(len(strains))}
    for label in hessian_potentials:
        for key in ("S_f", "bulk", "defect"):
            out[key + label] = np.full(len(strains), np.nan)
    length = float(atoms.cell[0, 0])
    for s, eps in enumerate(strains):
        at = atoms.copy()
        at.set_cell(at.cell[:] * (1 + eps), scale_atoms=True)
        start = at.positions.copy()
        at, ok, energy = potential.relax(at, fmax=fmax)
        if not ok:
            raise RuntimeError(f"the relaxation at strain {eps:+.4f} did not converge to fmax={fmax} eV/A")
        d = at.positions - start
        d -= length * (1 + eps) * np.round(d / (length * (1 + eps)))
        out["energy"][s], out["max_displacement"][s] = energy, float(np.sqrt((d ** 2).sum(1)).max())
        bulk = bcc_supercell(a0, n_cells, eps)
        for label, pot in hessian_potentials.items():
            ev_d, ev_b = hessian_eigenvalues(at, pot), hessian_eigenvalues(bulk, pot)
            if not (check_minimum(ev_d, pot.zero_tol).is_minimum and check_minimum(ev_b, pot.zero_tol).is_minimum):
                continue
            b = len(at) / len(bulk) * float(log_hbar_omega(ev_b, pot.mass, pot.zero_tol).sum())
            d_ = float(log_hbar_omega(ev_d, pot.mass, pot.zero_tol).sum())
            out["bulk" + label][s], out["defect" + label][s], out["S_f" + label][s] = b, d_, b - d_
    return out


def knot_crossings(knots, a0: float, strain_range=(-0.01, 0.03), shells=BCC_SHELLS) -> list:
    """Strains at which a neighbour shell of the perfect bcc crystal (lattice parameter ``a0``, A) crosses a
    knot (A) within ``strain_range``: rows ``(strain, shell_index, shell_distance_A, knot_A)``, by strain."""
    rows = []
    for k, (d2, _) in enumerate(shells):
        r = a0 * np.sqrt(d2)
        for knot in np.asarray(knots, float):
            eps = knot / r - 1
            if strain_range[0] <= eps <= strain_range[1]:
                rows.append((float(eps), k + 1, float(r), float(knot)))
    return sorted(rows)
