"""Solid harmonic wavelet scattering of 3-D atomic densities (thesis ch. 2.1-2.2 and appendix A).

Used by chapters 01 (aliasing), 02 (QM9), 03 (carbon) and 04 (iron).

Quick start
-----------
>>> from ase.build import molecule
>>> from localbook.scattering3d import SolidHarmonicScattering
>>> shs = SolidHarmonicScattering(J=2, L=3, qs=(0.5, 1, 2), sigma=0.5, channels=("Z", "valence"),
...                               max_order=2, device="cpu")
>>> X = shs.fit_transform([molecule("H2O"), molecule("CH4")])       # (2, n_features) numpy
>>> X.shape[1] == len(shs.get_feature_names_out())
True

The transformer composes with ``sklearn.pipeline``: ``make_pipeline(SolidHarmonicScattering(...), Ridge())``.

Layout (as kymatio's: thin front ends over one pure loop, the filters built by one function)
--------------------------------------------------------------------------------------------
``frontend``  :class:`SolidHarmonicScattering`, the scikit-learn transformer over lists of ``ase.Atoms``
              (parameters checked by ``_parameter_constraints``; boxes for molecules, cells for crystals).
``grid``      :class:`GridScattering`, the front end for densities already on a periodic grid ``(B, C, Nx, Ny, Nz)``
              (any box ``lengths``); ``first_order_density(x_hat, l, j)`` gives ``U_{l,j}[x]`` itself.
``core``      :func:`~localbook.scattering3d.core.scattering`, the loop over orders, scales and degrees.
``filters``   the wavelet formula (:func:`wavelet_hat`), ``K_l``, and :func:`solid_harmonic_filter_bank`, which
              keeps each scale's band (and, in the multi-resolution mode, its coarser grid) per device and dtype.
``backend``   tensor work: densities in Fourier space, pruned inverse FFTs, modulus and integrals, Parseval.
``sampling``  the aliasing and overlap conditions (:func:`check_conditions`, :class:`ConditionReport`), smooth FFT
              sizes, the grid that holds a band.
``channels``  atomic weights ``c_i`` (Z, valence, core, ones, or per-atom arrays).
``cells``     periodic cells: orthorhombic lengths, :func:`check_wavelets_fit_cells`.
``labels``    :class:`CoefficientLabel`, the output order, :func:`coefficient_scales`, kymatio's layout.
``analytic``  closed forms for one Gaussian (the oracles of the tests and of chapter 01).
``aliasing``  spectra of ``U_{l,j}[rho]``, slope fits, the Nyquist-boundary study and chapter 01's widget.

Two resolutions: ``"exact"`` computes every ``U`` on the input grid (kymatio's numbers to rounding; frequencies of a
wavelet below the dtype's rounding are skipped); ``"multi"`` computes each scale on the coarsest grid its band
allows at an aliasing precision ``scale_eps``, faster, with an error measured by ``benchmarks/bench_scattering3d.py``.

Conventions: integrals are ``dV * sum`` over the grid, so coefficients approximate the continuous
``int U^q d^3r`` whatever the grid; the wavelets are normalised by ``||(sum_m |psi_{l,m}|^2)^{1/2}||_1 = 1``
(appendix A.1; the printed closed form of ``K_l`` is ``sqrt 2`` off, see ``filters``). Computation uses real
FFTs and real solid harmonics (a unitary change of basis of the ``Y_l^m`` that leaves ``U`` unchanged).
"""
from localbook.scattering3d.analytic import (analytic_first_order, analytic_first_order_integral,
                                             analytic_order0_integral)
from localbook.scattering3d.cells import check_wavelets_fit_cells
from localbook.scattering3d.channels import CHANNELS, atom_channels
from localbook.scattering3d.filters import K_l, K_l_thesis, solid_harmonic_filter_bank, wavelet_hat
from localbook.scattering3d.frontend import SolidHarmonicScattering
from localbook.scattering3d.grid import GridScattering
from localbook.scattering3d.labels import CoefficientLabel, coefficient_scales, kymatio_layout
from localbook.scattering3d.sampling import (ConditionReport, SamplingConditionWarning, aliasing_precision,
                                             check_conditions, gaussian_width_for_aliasing, min_distance_for_overlap,
                                             overlap_precision)

__all__ = [
    "SolidHarmonicScattering", "GridScattering", "CoefficientLabel", "ConditionReport", "check_conditions",
    "atom_channels", "CHANNELS", "SamplingConditionWarning", "K_l", "K_l_thesis", "wavelet_hat",
    "solid_harmonic_filter_bank", "gaussian_width_for_aliasing", "aliasing_precision", "min_distance_for_overlap",
    "overlap_precision", "analytic_first_order", "analytic_first_order_integral", "analytic_order0_integral",
    "check_wavelets_fit_cells", "coefficient_scales", "kymatio_layout",
]
