import subprocess
import sys
import warnings

import numpy as np
import scipy.special

from localbook._compat import ensure_scipy_sph_harm

ensure_scipy_sph_harm()  # what use_kymatio() does first


def test_sph_harm_matches_closed_forms():
    az = np.linspace(0, 2 * np.pi, 7)
    pol = np.linspace(0.1, np.pi - 0.1, 7)
    y10 = scipy.special.sph_harm(0, 1, az, pol)
    y11 = scipy.special.sph_harm(1, 1, az, pol)
    y2m2 = scipy.special.sph_harm(-2, 2, az, pol)
    np.testing.assert_allclose(y10, np.sqrt(3 / (4 * np.pi)) * np.cos(pol), atol=1e-12)
    np.testing.assert_allclose(y11, -np.sqrt(3 / (8 * np.pi)) * np.sin(pol) * np.exp(1j * az), atol=1e-12)
    np.testing.assert_allclose(y2m2, np.sqrt(15 / (32 * np.pi)) * np.sin(pol) ** 2 * np.exp(-2j * az), atol=1e-12)


def test_sph_harm_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scipy.special.sph_harm(1, 2, np.zeros(5), np.ones(5))


def test_kymatio_3d_filters_build_without_warnings():
    # a fresh interpreter: kymatio re-enables DeprecationWarnings itself, so count what reaches stderr
    code = ("import warnings; from localbook._compat import use_kymatio; use_kymatio(); "
            "warnings.simplefilter('always');"
            "from kymatio.scattering3d.filter_bank import solid_harmonic_filter_bank as f;"
            "f = f(16, 16, 16, 1, 2, 1.0); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout and "Warning" not in out.stderr


def test_importing_localbook_leaves_scipy_alone():
    code = ("import scipy.special, localbook, localbook.scattering3d, localbook.images; "
            "assert not hasattr(scipy.special, 'sph_harm') or not getattr(scipy.special.sph_harm, "
            "'_localbook_shim', False), 'localbook patched SciPy at import'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
