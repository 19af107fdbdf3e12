"""Compatibility shims for third-party packages, each tested in ``tests/test_compat.py``.

kymatio 0.3.0 (the last release) builds its 3-D solid harmonic filters with ``scipy.special.sph_harm``:

* SciPy 1.17 removed ``sph_harm``, so ``import kymatio.torch`` fails with an ImportError;
* SciPy 1.15–1.16 deprecate it, and kymatio calls it once per voxel with the warning filter reset,
  which floods any notebook or test log with millions of ``DeprecationWarning`` lines.

Rather than pin an old SciPy for one oracle, :func:`use_kymatio` (the one way this project imports kymatio) installs,
before kymatio is imported, a ``scipy.special.sph_harm`` that forwards to ``sph_harm_y`` (SciPy >= 1.15) with the
argument order of the old function: ``sph_harm(m, n, azimuth, polar) == sph_harm_y(n, m, polar, azimuth)``.
Both use the Condon–Shortley phase and orthonormal normalisation, so values are identical. Nothing is patched when
``localbook`` is imported: a process that never calls :func:`use_kymatio` keeps SciPy as it is.
"""
from __future__ import annotations

import numpy as np

_SHIM_MARK = "_localbook_shim"


def _sph_harm_via_sph_harm_y(m, n, theta, phi, out=None):
    """Old ``scipy.special.sph_harm(m, n, theta, phi)``: theta azimuthal, phi polar angle."""
    from scipy.special import sph_harm_y

    if out is not None:
        raise TypeError("the localbook sph_harm shim does not support out=")
    return sph_harm_y(np.asarray(n), np.asarray(m), phi, theta)


setattr(_sph_harm_via_sph_harm_y, _SHIM_MARK, True)


def ensure_scipy_sph_harm() -> bool:
    """Make ``scipy.special.sph_harm`` available and silent. Returns True when the shim was installed."""
    import scipy.special

    if not hasattr(scipy.special, "sph_harm_y"):  # SciPy < 1.15: the original is neither gone nor deprecated
        return False
    scipy.special.sph_harm = _sph_harm_via_sph_harm_y
    return True


def use_kymatio():
    """``kymatio.torch``, imported after :func:`ensure_scipy_sph_harm`: call this instead of ``import kymatio.torch``
    (``from localbook._compat import use_kymatio; Scattering2D = use_kymatio().Scattering2D``)."""
    ensure_scipy_sph_harm()
    import kymatio.torch

    return kymatio.torch
