"""Chapter 02's settings (localbook.chapters.ch02_qm9_regression): every preset validates, bad combinations are
refused."""
from __future__ import annotations

from localbook.chapters import ch02_qm9_regression as chapter


def test_every_preset_passes_its_combination_check():
    for scale in ("quick", "medium", "thesis", "smoke"):
        assert chapter.PRESETS.problems(chapter.PRESETS.values(scale)) == [], scale


def test_thesis_preset_follows_the_thesis():
    v = chapter.PRESETS.values("thesis")
    assert (v["J"], v["ls"], v["qs"], v["n_folds"]) == (4, [1, 2, 3], [0.5, 1.0, 2.0, 3.0, 4.0], 5)
    assert v["margin_widths"] >= 1 and v["eps_o"] == 0.1
    assert "133,885" in chapter.PRESETS.settings["n_molecules"].thesis_text()


def test_a_margin_narrower_than_the_widest_wavelet_is_refused():
    v = {**chapter.PRESETS.values("thesis"), "margin_widths": 0.5}
    problems = chapter.PRESETS.problems(v)
    assert problems and "widest wavelet" in problems[0]
    assert chapter.PRESETS.problems({**chapter.PRESETS.values("quick"), "n_molecules": 10, "n_folds": 5})


def test_cost_grows_with_the_thesis_sampling():
    quick, thesis = chapter.PRESETS.values("quick"), chapter.PRESETS.values("thesis")
    assert chapter._work(thesis) > 1e3 * chapter._work(quick)
    assert chapter._memory_gb(thesis) > chapter._memory_gb(quick)


def test_descriptor_job_builds_the_notebooks_descriptor():
    import pytest

    from localbook.scattering3d import SolidHarmonicScattering

    scattering, molecules, name = chapter.descriptor_job(scale="smoke", n_molecules=20, device="cpu")
    assert isinstance(scattering, SolidHarmonicScattering) and scattering.grid == "molecule"
    assert len(molecules) == 20 and name == "qm9_scattering"
    assert scattering.get_params()["J"] == chapter.PRESETS.values("smoke")["J"]
    with pytest.raises(ValueError, match="unknown settings"):
        chapter.descriptor_job(scale="smoke", n_molecule=20)
    with pytest.raises(ValueError, match="widest wavelet"):
        chapter.descriptor_job(scale="smoke", margin_widths=0.5)
