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

Public API
----------
:class:`SolidHarmonicScattering` (``frontend``)
    scikit-learn transformer over lists of ``ase.Atoms``. Lengths in Å. Parameters: scales ``J`` (int ->
    ``0..J``, or a list of fractional ``j``), degrees ``L`` (int -> ``0..L`` or a list), powers ``qs``,
    Gaussian width ``sigma``, smallest wavelet width ``sigma_w``, grid step ``spacing``, ``grid``
    (``"box"`` for molecules, ``"cell"`` for periodic orthorhombic cells, ``"auto"``, or a shape),
    ``channels`` (``"Z"``, ``"valence"``, ``"core"``, ``"ones"`` or per-atom arrays), ``max_order``
    (0, 1, 2), ``second_order`` (``"same_l"``/``"all_l"``), ``include_order0``, the sampling-condition
    targets ``eps_a``/``eps_o`` with ``on_violation`` (``"raise"``, ``"warn"``, ``"rescale"``),
    ``batch_size``, ``device``, ``dtype``, ``progress``.
    After ``fit``: ``feature_labels_`` (one :class:`CoefficientLabel` per column), ``get_feature_names_out()``,
    ``select(order=, l=, max_scale=, q=, channel=)`` (column masks, e.g. "scales up to j" for error-versus-
    length studies), ``scale_``, ``grid_shape_``, ``box_length_``, ``condition_reports_``.
:class:`GridScattering` (``transform``)
    the engine on raw periodic grids ``(B, C, Nx, Ny, Nz)`` with any box ``lengths``; also gives
    ``first_order_density(x_hat, l, j)`` = ``U_{l,j}[x]`` on the grid.
:func:`check_conditions`, :class:`ConditionReport`
    the aliasing (``sigma = sqrt(2 log(N_a/eps_a))/pi`` grid steps) and overlap
    (``Delta = sigma sqrt(-8 log eps_o)``) conditions of one structure.
``core``
    ``K_l``, the wavelets in Fourier space, the conditions, 2-3-5-smooth grid sizes and the closed forms for
    one Gaussian (``analytic_first_order``, ``analytic_first_order_integral``, ``analytic_order0_integral``).
``backend``
    ``density_hat`` (densities in Fourier space), FFT helpers, ``filtered_modulus``, ``integrals``.
``aliasing``
    Fourier spectra of ``U_{l,j}[rho]``, power-law slope fits, the Nyquist-boundary study and the
    two-Gaussian interference view behind chapter 01's widget.

Conventions: integrals are ``dV * sum`` over the grid, so coefficients approximate the continuous
``int U^q d^3r`` whatever the grid; the wavelets are normalised by ``||(sum_m |psi_{l,m}|^2)^{1/2}||_1 = 1``
(appendix A.1; the printed closed form of ``K_l`` is ``sqrt 2`` off, see ``core``). Computation uses real
FFTs and real solid harmonics (a unitary change of basis of the ``Y_l^m`` that leaves ``U`` unchanged).
"""
from localbook.scattering3d.core import (K_l, aliasing_precision, analytic_first_order,
                                         analytic_first_order_integral, analytic_order0_integral,
                                         gaussian_width_for_aliasing, min_distance_for_overlap, overlap_precision)
from localbook.scattering3d.frontend import (CHANNELS, ConditionReport, SamplingConditionWarning,
                                             SolidHarmonicScattering, atom_channels, check_conditions,
                                             check_wavelets_fit_cells, coefficient_scales)
from localbook.scattering3d.transform import CoefficientLabel, GridScattering

__all__ = [
    "SolidHarmonicScattering", "GridScattering", "CoefficientLabel", "ConditionReport", "check_conditions",
    "atom_channels", "CHANNELS", "SamplingConditionWarning", "K_l", "gaussian_width_for_aliasing",
    "aliasing_precision", "min_distance_for_overlap", "overlap_precision", "analytic_first_order",
    "analytic_first_order_integral", "analytic_order0_integral", "check_wavelets_fit_cells", "coefficient_scales",
]
