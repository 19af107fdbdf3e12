"""Embedded-atom (EAM) potentials for bcc iron in torch: energy, forces and the exact Hessian.

The energy of ``N`` atoms of one species in a periodic cell is (Daw and Baskes 1984; Finnis-Sinclair form)

    E = sum_i F(rho_i) + 1/2 sum_{i != j} phi(r_ij),    rho_i = sum_{j != i} f(r_ij),

with the embedding function ``F`` (eV), the density function ``f`` and the pair potential ``phi`` (eV)
tabulated in a LAMMPS ``eam.fs`` (or ``setfl``) file, read with ASE's ``EAM`` reader. The tables become torch
functions in one of two ways (:mod:`localbook.atoms.eam_tables`): ``interpolation="analytic"`` (default) the
closed forms that the tables sample, recovered by least squares and checked against every tabulated value;
``"table"`` the cubic splines through every tabulated point, as ASE (whose second derivatives carry the
tables' rounding amplified by ``1 / dr^2``: chapter 04 measures what that does to entropies). Torch evaluates
and differentiates them: forces by reverse-mode autograd, the Hessian exactly (closed-form assembly, or
forward-over-reverse autograd as a check), where the thesis used finite differences of forces with a 1e-3 A
step (thesis 3.3.2).

Why hand-written: ASE's ``EAM`` calculator gives energy and forces with a Python loop over atoms and no
Hessian; LAMMPS is not a Python dependency of this book. ASE's calculator is the reference in the tests.

Two potentials of the book (file names as in LAMMPS' ``potentials`` folder):

* ``"AM04"``: Ackland, Mendelev, Srolovitz, Han and Barashev, J. Phys.: Condens. Matter 16, S2629 (2004),
  file ``FeP_mm.eam.fs`` (its Fe-Fe part) -- the thesis' EAM potential;
* ``"M03"``: Mendelev, Han, Srolovitz, Ackland, Sun and Asta, Phil. Mag. 83, 3977 (2003), ``Fe_mm.eam.fs``.

Units: positions and cells in A, energies in eV, forces in eV/A, Hessian in eV/A^2.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from localbook.checks import check_memory, check_structures, dense_hessian_bytes

__all__ = ["POTENTIALS", "EAMPotential", "TorchEAMCalculator", "load_potential", "neighbour_pairs",
           "potential_path"]

#: name -> file in the ``lammps-potentials`` dataset, citation, and the bcc lattice parameter ``a0`` (A) fitted
#: by the authors, as written in each file's header (2.855312 and 2.855324 A). The papers' vacancy formation
#: energies are not quoted here: they could not be checked against the original tables offline, so the tests
#: check the relaxed vacancy energy for convergence with the cell size and against the physical range instead.
POTENTIALS = {
    "AM04": dict(file="FeP_mm.eam.fs",
                 citation="Ackland et al., J. Phys.: Condens. Matter 16, S2629 (2004)",
                 a0=2.8553),
    "M03": dict(file="Fe_mm.eam.fs",
                citation="Mendelev et al., Phil. Mag. 83, 3977 (2003)",
                a0=2.8553),
}


def potential_path(name: str) -> Path:
    """Path of the tabulated file of potential ``name`` (``"AM04"`` or ``"M03"``), via ``localbook.data``."""
    if name not in POTENTIALS:
        raise ValueError(f"unknown potential {name!r}: choose one of {sorted(POTENTIALS)}")
    from localbook.data import locate
    return locate("lammps-potentials") / POTENTIALS[name]["file"]


def neighbour_pairs(atoms, cutoff: float):
    """Full neighbour list of a periodic cell: ``(i, j, shifts)``, each pair listed both ways.

    Uses ASE's vectorised ``ase.neighborlist.neighbor_list`` (cell binning, no Python loop over atoms).
    ``i, j``: int64 arrays (P,); ``shifts``: int array (P, 3) of cell vectors, so that
    ``r_j - r_i + shifts @ cell`` is the pair vector.
    """
    from ase.neighborlist import neighbor_list
    i, j, s = neighbor_list("ijS", atoms, cutoff)
    return i.astype(np.int64), j.astype(np.int64), s


@dataclass
class _Pairs:
    i: torch.Tensor
    j: torch.Tensor
    offset: torch.Tensor  # (P, 3) shifts @ cell, A


class EAMPotential:
    """A single-species EAM potential in torch (see the module docstring for the energy, eq. and units).

    Build with :func:`load_potential` (``"AM04"``, ``"M03"``) or from a file path. Every method takes an
    ``ase.Atoms`` (periodic, one species) and works on ``device``; results come back as torch tensors on it.
    """

    def __init__(self, path, element: str = "Fe", device: str | torch.device = "cpu", name: str | None = None,
                 interpolation: str = "analytic"):
        from ase.calculators.eam import EAM
        from localbook.atoms.eam_tables import INTERPOLATIONS, interpolate_tables, recover_analytic
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"EAM file {path} not found: give the path of a LAMMPS eam.fs/setfl file")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation={interpolation!r}: use one of {INTERPOLATIONS}")
        self.path, self.name = path, name or path.name
        self.citation = POTENTIALS.get(self.name, {}).get("citation", path.name)
        self.device = torch.device(device)
        ref = EAM(potential=str(path))
        if element not in list(ref.elements):
            raise ValueError(f"{path.name} has elements {list(ref.elements)}, not {element!r}")
        k = list(ref.elements).index(element)
        self.element, self.cutoff = element, float(ref.cutoff)
        self.mass = float(ref.mass[k])  # amu
        self.a_file = float(ref.a[k])   # A, the lattice parameter written in the file header
        ref.filename = path.name
        build = recover_analytic if interpolation == "analytic" else interpolate_tables
        #: the three functions (see :mod:`localbook.atoms.eam_tables`), with the residuals of the closed forms
        self.functions = build(ref, k, self.device)
        self.interpolation = interpolation
        self._F, self._f, self._phi = self.functions.F, self.functions.f, self.functions.phi

    # ------------------------------------------------------------------ internals
    def _check(self, atoms):
        check_structures([atoms], who=f"EAMPotential({self.name})")
        if not all(atoms.pbc):
            raise ValueError("EAMPotential needs a periodic cell (atoms.pbc all True); set atoms.pbc = True")
        symbols = set(atoms.get_chemical_symbols())
        if symbols != {self.element}:
            raise ValueError(f"EAMPotential({self.name}) handles pure {self.element}, got species {sorted(symbols)}")

    def pairs(self, atoms, skin: float = 0.0) -> _Pairs:
        """Neighbour pairs within ``cutoff + skin`` (A) as tensors on the device (see :func:`neighbour_pairs`).

        Pairs farther than the cutoff contribute zero, so a list built with a skin stays valid until an atom
        has moved by more than ``skin / 2`` (a Verlet list; :class:`TorchEAMCalculator` reuses it).
        """
        self._check(atoms)
        i, j, s = neighbour_pairs(atoms, self.cutoff + skin)
        cell = np.asarray(atoms.cell[:], dtype=np.float64)
        as_t = lambda a, dt: torch.as_tensor(a, dtype=dt, device=self.device)  # noqa: E731
        return _Pairs(as_t(i, torch.int64), as_t(j, torch.int64), as_t(s @ cell, torch.float64))

    def _energy(self, pos: torch.Tensor, pairs: _Pairs, per_atom: bool = False) -> torch.Tensor:
        d = pos[pairs.j] - pos[pairs.i] + pairs.offset
        r = torch.sqrt((d * d).sum(-1))
        inside = r <= self.cutoff
        f = torch.where(inside, self._f(r), 0.0)
        rho = torch.zeros(pos.shape[0], dtype=pos.dtype, device=pos.device).index_add(0, pairs.i, f)
        e_pair = torch.zeros_like(rho).index_add(0, pairs.i, torch.where(inside, 0.5 * self._phi(r), 0.0))
        e = self._F(rho) + e_pair
        return e if per_atom else e.sum()

    def _positions(self, atoms) -> torch.Tensor:
        return torch.as_tensor(np.asarray(atoms.positions), dtype=torch.float64, device=self.device)

    # ------------------------------------------------------------------ public API
    def energy(self, atoms, per_atom: bool = False) -> torch.Tensor:
        """Potential energy (eV): a scalar, or ``(N,)`` per-atom energies with ``per_atom=True``."""
        with torch.no_grad():
            return self._energy(self._positions(atoms), self.pairs(atoms), per_atom)

    def energy_forces(self, atoms, pairs: _Pairs | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Energy (eV, scalar) and forces ``-dE/dr`` (eV/A, ``(N, 3)``) by autograd (optional given pairs)."""
        pos = self._positions(atoms).requires_grad_(True)
        e = self._energy(pos, self.pairs(atoms) if pairs is None else pairs)
        (g,) = torch.autograd.grad(e, pos)
        return e.detach(), -g

    def forces(self, atoms) -> torch.Tensor:
        """Forces (eV/A), ``(N, 3)``."""
        return self.energy_forces(atoms)[1]

    def hessian(self, atoms, method: str = "analytic", chunk_size: int = 4096) -> torch.Tensor:
        """Exact Hessian ``d^2E / dr_a dr_b`` (eV/A^2), ``(3N, 3N)``, rows/columns ordered atom-major (x, y, z).

        ``method="analytic"`` (default) assembles the closed form, for directed pairs p = (i -> j) with
        ``u = (r_j - r_i)/r`` and ``P(g) = g'' u u^T + (g'/r)(1 - u u^T)``:

            1/2 P(phi) + F'(rho_i) P(f)   on the (i,i), (j,j) blocks and minus on (i,j), (j,i),
            F''(rho_i) v_p v_q^T          for the neighbour pairs (p, q) of the same atom i, v_p = f'(r_p) u_p
                                          (with -sum_p v_p in place of v_p for atom i itself),

        vectorised over pairs and over the pairs of neighbours (in chunks of ``chunk_size`` atoms).
        ``method="autograd"`` differentiates the energy twice with ``torch.func`` (slower; a check).
        The neighbour list is the one of the given positions.
        """
        check_memory(dense_hessian_bytes(len(atoms)), f"the dense Hessian of {len(atoms)} atoms", "a smaller cell",
                     device=self.device)
        pos = self._positions(atoms)
        pairs = self.pairs(atoms)
        if pairs.i.numel() == 0:
            raise ValueError("no neighbour pairs within the cutoff: the cell is empty or too dilute")
        if method == "autograd":
            from torch.func import grad, jvp, vmap
            n3 = pos.numel()
            grad_fn = grad(lambda p: self._energy(p, pairs))
            basis = torch.eye(n3, dtype=pos.dtype, device=pos.device).reshape(n3, *pos.shape)
            h = vmap(lambda v: jvp(grad_fn, (pos,), (v,))[1], chunk_size=192)(basis).reshape(n3, n3)
            return 0.5 * (h + h.T)
        if method != "analytic":
            raise ValueError(f"method={method!r}: use 'analytic' or 'autograd'")
        n = pos.shape[0]
        i, j = pairs.i, pairs.j
        d = pos[j] - pos[i] + pairs.offset
        r = torch.sqrt((d * d).sum(-1))
        u = d / r[:, None]
        uu = u[:, :, None] * u[:, None, :]
        eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
        rho = torch.zeros(n, dtype=pos.dtype, device=pos.device).index_add(0, i, self._f(r))
        dF, d2F = self._F(rho, 1), self._F(rho, 2)

        def proj(g1, g2):  # second derivative of g(|d|) with respect to d, (P, 3, 3)
            return g2[:, None, None] * uu + (g1 / r)[:, None, None] * (eye - uu)

        k = 0.5 * proj(self._phi(r, 1), self._phi(r, 2)) + dF[i][:, None, None] * proj(self._f(r, 1), self._f(r, 2))
        h4 = torch.zeros(n, n, 3, 3, dtype=pos.dtype, device=pos.device)
        h4.index_put_((i, i), k, accumulate=True)
        h4.index_put_((j, j), k, accumulate=True)
        h4.index_put_((i, j), -k, accumulate=True)
        h4.index_put_((j, i), -k, accumulate=True)
        # F'' term: pad the (sorted by i) pair list into (N, M) neighbour slots; slot M holds atom i itself
        v = self._f(r, 1)[:, None] * u
        order = torch.argsort(i, stable=True)
        i_s, j_s, v_s = i[order], j[order], v[order]
        counts = torch.bincount(i_s, minlength=n)
        m = int(counts.max()) if counts.numel() else 0
        start = torch.cumsum(counts, 0) - counts
        slot = torch.arange(i_s.numel(), device=pos.device) - start[i_s]
        vpad = torch.zeros(n, m + 1, 3, dtype=pos.dtype, device=pos.device)
        jpad = torch.zeros(n, m + 1, dtype=torch.int64, device=pos.device)
        vpad[i_s, slot] = v_s
        jpad[i_s, slot] = j_s
        vpad[:, m] = -vpad[:, :m].sum(1)
        jpad[:, m] = torch.arange(n, device=pos.device)
        for a in range(0, n, chunk_size):  # chunks of atoms bound the (chunk, M+1, M+1, 3, 3) memory
            sl = slice(a, min(a + chunk_size, n))
            vv = d2F[sl, None, None, None, None] * vpad[sl, :, None, :, None] * vpad[sl, None, :, None, :]
            jj = jpad[sl]
            rows = jj[:, :, None].expand(-1, -1, m + 1)
            cols = jj[:, None, :].expand(-1, m + 1, -1)
            h4.index_put_((rows.reshape(-1), cols.reshape(-1)), vv.reshape(-1, 3, 3), accumulate=True)
        h = h4.permute(0, 2, 1, 3).reshape(3 * n, 3 * n)
        return 0.5 * (h + h.T)

    def calculator(self):
        """An ASE calculator backed by this potential (for ``ase.optimize`` relaxations)."""
        return TorchEAMCalculator(self)

    #: eigenvalues (eV/A^2) below this in absolute value are zero modes (the Hessian is exact to ~1e-12)
    zero_tol = 1e-6

    def relax(self, atoms, fmax: float = 1e-4, steps: int = 20000):
        """Relax positions at fixed cell with ASE's FIRE until max |force| <= ``fmax`` (eV/A).

        Returns ``(atoms, converged, energy_eV)``; ``atoms`` is relaxed in place (calculator attached).
        """
        from ase.optimize import FIRE
        atoms.calc = self.calculator()
        opt = FIRE(atoms, logfile=None)
        converged = bool(opt.run(fmax=fmax, steps=steps))
        return atoms, converged, float(atoms.get_potential_energy())


def load_potential(name: str = "AM04", device: str | torch.device = "cpu",
                   interpolation: str = "analytic") -> EAMPotential:
    """The potential ``"AM04"`` (Ackland et al. 2004) or ``"M03"`` (Mendelev et al. 2003) on ``device``.

    ``interpolation``: ``"analytic"`` (the published closed forms, recovered from the table) or ``"table"``
    (cubic splines through the tabulated points, as ASE; see :mod:`localbook.atoms.eam_tables`).
    """
    return EAMPotential(potential_path(name), element="Fe", device=device, name=name, interpolation=interpolation)


try:  # ASE calculator wrapper
    from ase.calculators.calculator import Calculator, all_changes

    class TorchEAMCalculator(Calculator):
        """ASE calculator (energy, forces) of an :class:`EAMPotential`; results as numpy float64."""

        implemented_properties = ["energy", "forces", "energies"]

        def __init__(self, potential: EAMPotential, skin: float = 0.4, **kwargs):
            super().__init__(**kwargs)
            self.potential, self.skin = potential, skin
            self._list = None  # (positions, cell, pairs) of the last neighbour list

        def _pairs(self, atoms):
            pos, cell = atoms.positions, np.asarray(atoms.cell[:])
            if self._list is not None:
                p0, c0, pairs = self._list
                if (p0.shape == pos.shape and np.array_equal(c0, cell)
                        and np.sqrt(((pos - p0) ** 2).sum(1)).max() < 0.5 * self.skin):
                    return pairs
            pairs = self.potential.pairs(atoms, skin=self.skin)
            self._list = (pos.copy(), cell.copy(), pairs)
            return pairs

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            e, f = self.potential.energy_forces(self.atoms, pairs=self._pairs(self.atoms))
            self.results["energy"] = float(e)
            self.results["free_energy"] = float(e)
            self.results["forces"] = f.cpu().numpy()
            if "energies" in properties:
                self.results["energies"] = self.potential.energy(self.atoms, per_atom=True).cpu().numpy()
except ImportError:  # pragma: no cover - ase is a dependency
    TorchEAMCalculator = None
