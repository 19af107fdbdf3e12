"""localbook.checks: structures, images, memory estimates and papermill names, against brute-force oracles."""
import itertools
import types

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localbook.checks import (ImageError, InjectedParameterError, MemoryLimitError, StructureError, check_images,
                              check_injected_names, check_memory, check_number, check_structures,
                              dense_hessian_bytes, grid_bytes, memory_limit_bytes)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------------------
# structures


def good_structures():
    slab = fcc111("Cu", (2, 2, 3), vacuum=5.0)  # pbc (True, True, False)
    tri = bulk("Si", "diamond", a=5.43)  # primitive, triclinic cell
    return [molecule("H2O"), molecule("C6H6"), bulk("Fe", "bcc", a=2.86, cubic=True).repeat(3), slab, tri,
            Atoms("He")]


def test_good_structures_pass_and_come_back_as_a_list():
    structures = good_structures()
    out = check_structures(iter(structures))
    assert out == structures and isinstance(out, list)


@pytest.mark.parametrize("fault, match", [
    ("nan", "structure 2 .* atom 1 has a non-finite position"),
    ("inf", "structure 2 .* atom 1 has a non-finite position"),
    ("z0", "atom 0 has atomic number 0, which is not an element"),
    ("z119", "atomic number 119"),
    ("coincident", "atoms 0 and 1 are 0 Å apart"),
    ("zero_cell", "cell vectors .* zero or linearly dependent"),
    ("flat_cell", "zero or linearly dependent"),
    ("nan_cell", "the cell .* is not finite"),
    ("across_boundary", "atoms 0 and 1 are 0.02 Å apart"),
    ("thin_cell", "0.05 Å thick along periodic direction 2"),
    ("no_atoms", "has no atom"),
])
def test_each_fault_is_named_with_its_structure_and_a_fix(fault, match):
    structures = good_structures()
    a = structures[2].copy()
    if fault == "nan":
        a.positions[1, 0] = np.nan
    elif fault == "inf":
        a.positions[1, 2] = np.inf
    elif fault == "z0":
        a.numbers[0] = 0
    elif fault == "z119":
        a.numbers[0] = 119
    elif fault == "coincident":
        a.positions[1] = a.positions[0]
    elif fault == "zero_cell":
        a.cell = np.zeros((3, 3))
    elif fault == "flat_cell":
        a.cell = [[3, 0, 0], [0, 3, 0], [3, 3, 0]]
    elif fault == "nan_cell":
        a.cell[0, 0] = np.nan
    elif fault == "across_boundary":
        a = Atoms("Fe2", positions=[[0.01, 1, 1], [5.99, 1, 1]], cell=[6, 6, 6], pbc=True)
    elif fault == "thin_cell":
        a = Atoms("Fe", positions=[[0, 0, 0]], cell=[3, 3, 0.05], pbc=True)
    elif fault == "no_atoms":
        a = Atoms()
    structures[2] = a
    with pytest.raises(StructureError, match=match) as err:
        check_structures(structures, who="EAM.energy")
    assert str(err.value).startswith("EAM.energy: structure 2")


def test_wrong_containers_and_element_restrictions():
    with pytest.raises(TypeError, match=r"one ase.Atoms .* pass \[atoms\]"):
        check_structures(molecule("H2O"))
    with pytest.raises(TypeError, match="item 1 is a ndarray"):
        check_structures([molecule("H2O"), np.zeros((3, 3))])
    with pytest.raises(StructureError, match="empty list"):
        check_structures([])
    assert check_structures([], allow_empty=True) == []
    with pytest.raises(StructureError, match=r"atomic number 8, which is not supported here \(supported: \[1, 6\]\)"):
        check_structures([molecule("CH4"), molecule("H2O")], elements=["H", "C"])
    # a molecule without a cell is fine, unless the caller needs one
    with pytest.raises(StructureError, match="needs a cell"):
        check_structures([molecule("H2O")], require_cell=True)
    # a non-periodic direction may have no cell vector
    check_structures([Atoms("Fe2", positions=[[0, 0, 0], [1.4, 1.4, 0]], cell=[2.8, 2.8, 0], pbc=[True, True, False])])


def brute_force_min_distance(atoms, reach=2):
    """Smallest distance between two atoms or an atom and another's (or its own) periodic image, by trying
    every image shift up to ``reach`` cells away along the periodic directions."""
    pos, cell = atoms.positions, np.asarray(atoms.cell)
    ranges = [range(-reach, reach + 1) if p else [0] for p in atoms.pbc]
    best = np.inf
    for shift in itertools.product(*ranges):
        t = np.array(shift) @ cell
        d = np.linalg.norm(pos[:, None, :] - (pos[None, :, :] + t), axis=-1)
        if not any(shift):
            np.fill_diagonal(d, np.inf)
        best = min(best, d.min())
    return best


@st.composite
def random_cells(draw):
    n = draw(st.integers(1, 6))
    pbc = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    # a well-conditioned, possibly triclinic cell: heights >= ~2 Å so that 2 image shifts cover any pair
    lengths = draw(st.lists(st.floats(2.5, 6.0), min_size=3, max_size=3))
    shear = draw(st.lists(st.floats(-0.3, 0.3), min_size=3, max_size=3))
    cell = np.diag(lengths)
    cell[1, 0], cell[2, 0], cell[2, 1] = shear[0] * lengths[0], shear[1] * lengths[0], shear[2] * lengths[1]
    frac = np.array(draw(st.lists(st.lists(st.floats(-0.5, 1.5), min_size=3, max_size=3), min_size=n, max_size=n)))
    return Atoms(numbers=[26] * n, positions=frac @ cell, cell=cell, pbc=pbc)


@SETTINGS
@given(random_cells(), st.floats(0.05, 1.5))
def test_pair_search_agrees_with_brute_force_over_periodic_images(atoms, min_distance):
    d = brute_force_min_distance(atoms)
    if abs(d - min_distance) < 1e-6:
        return  # too close to the threshold to call
    dimer = Atoms("He2", positions=[[0, 0, 0], [2, 0, 0]])  # a neighbour in the batch that passes
    if d < min_distance:
        with pytest.raises(StructureError, match="^structure 1 .*(apart|thick)"):
            check_structures([dimer, atoms], min_distance_angstrom=min_distance)
    else:
        check_structures([dimer, atoms], min_distance_angstrom=min_distance)


@SETTINGS
@given(st.lists(st.integers(1, 20), min_size=1, max_size=8), st.data())
def test_the_first_faulty_structure_is_the_one_named(sizes, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    structures = []
    for n in sizes:  # atoms on a jittered lattice 1.5 Å apart: never coincident
        grid = np.array(list(itertools.product(range(3), repeat=3)))[rng.permutation(27)[:n]] * 1.5
        structures.append(Atoms(numbers=rng.integers(1, 10, n), positions=grid + rng.uniform(-0.2, 0.2, (n, 3))))
    check_structures(structures)
    k = data.draw(st.integers(0, len(sizes) - 1))
    fault = data.draw(st.sampled_from(["nan", "coincident", "z"]))
    bad = structures[k]
    if fault == "nan":
        bad.positions[data.draw(st.integers(0, len(bad) - 1)), data.draw(st.integers(0, 2))] = np.nan
    elif fault == "coincident":
        bad += Atoms("H", positions=[bad.positions[0] + 0.01])
    else:
        bad.numbers[-1] = 0
    with pytest.raises(StructureError, match=f"^structure {k} "):
        check_structures(structures)


# ---------------------------------------------------------------------------------------------------------------
# images


def test_good_images_pass_unchanged():
    for x in (torch.rand(2, 3, 8, 8), np.random.default_rng(0).random((1, 1, 4, 4)), torch.zeros(1, 3, 2, 2),
              torch.ones(3, 1, 5, 5, dtype=torch.float64), torch.rand(2, 3, 4, 4, dtype=torch.bfloat16)):
        assert check_images(x) is x


@pytest.mark.parametrize("x, match", [
    (torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8), r"dtype uint8.*x.float\(\) / 255"),
    (torch.rand(2, 3, 8, 8) * 255, "look like 8-bit values .* divide by 255"),
    (torch.rand(2, 3, 8, 8) * 60000, "16-bit values .* divide by 65535"),
    (torch.rand(2, 3, 8, 8) * 2 - 1, r"\(x \+ 1\) / 2"),
    (torch.randn(2, 3, 8, 8) * 1e5, "normalisation"),
    (np.zeros((2, 3, 8, 8), dtype=np.uint16), r"dtype uint16.*65535"),
    (torch.zeros(0, 3, 8, 8), "batch is empty"),
    (torch.rand(3, 8, 8), r"add a batch axis with x\[None\]"),
    (torch.rand(8, 8), r"expected images \(B, C, H, W\)"),
    ([[0.5]], "expected a torch tensor or NumPy array"),
])
def test_bad_images_say_how_to_convert(x, match):
    with pytest.raises(ImageError, match=match):
        check_images(x, who="encode")


def test_nan_image_and_channels_are_named():
    x = torch.rand(4, 3, 8, 8)
    x[2, 1, 3, 3] = np.nan
    with pytest.raises(ImageError, match="image 2 has NaN"):
        check_images(x)
    with pytest.raises(ImageError, match=r"4 channels, expected 1 or 3 .* x.permute\(2, 0, 1\)"):
        check_images(torch.rand(1, 4, 8, 8), channels=(1, 3))
    with pytest.raises(ImageError, match="smaller than 16 x 16"):
        check_images(torch.rand(1, 3, 8, 8), min_size=16)
    assert check_images(torch.rand(3, 8, 8), batched=False) is not None


@SETTINGS
@given(st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(0, 47))
def test_any_value_outside_the_unit_interval_is_refused(value, where):
    x = torch.rand(2, 3, 2, 4, dtype=torch.float64)
    x.view(-1)[where] = value
    if np.isfinite(value) and -1e-6 <= value <= 1 + 1e-6:
        check_images(x)
    else:
        with pytest.raises(ImageError):
            check_images(x)
        with pytest.raises(ImageError):
            check_images(x.numpy())


# ---------------------------------------------------------------------------------------------------------------
# memory


def test_memory_estimates_and_limit(monkeypatch):
    assert grid_bytes((512, 512, 512), "float64", 8) == 512 ** 3 * 8 * 8
    assert grid_bytes((10,), torch.complex64) == 80
    assert dense_hessian_bytes(1000) == 3 * 3000 ** 2 * 8
    monkeypatch.delenv("LOCALBOOK_MEMORY_LIMIT_GB", raising=False)
    assert 0 < memory_limit_bytes() < 2 ** 50
    with pytest.raises(MemoryLimitError, match=r"the grid needs about 8 GB, above the limit of 1 GB .* "
                                               r"a larger spacing.* LOCALBOOK_MEMORY_LIMIT_GB=<GB>"):
        check_memory(8 * 2 ** 30, "the grid", "a larger spacing", limit_gb=1)
    check_memory(8 * 2 ** 30, "the grid", "a larger spacing", limit_gb=10)
    monkeypatch.setenv("LOCALBOOK_MEMORY_LIMIT_GB", "0.5")
    with pytest.raises(MemoryLimitError, match=r"\$LOCALBOOK_MEMORY_LIMIT_GB"):
        check_memory(2 ** 30, "the Hessian", "fewer atoms")
    monkeypatch.setenv("LOCALBOOK_MEMORY_LIMIT_GB", "lots")
    with pytest.raises(ValueError, match="not a number of GB"):
        check_memory(1, "x", "y")
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number"):
            check_memory(1, "x", "y", limit_gb=bad)


# ---------------------------------------------------------------------------------------------------------------
# papermill names


def test_injected_names_that_the_notebook_rebinds_are_refused():
    namespace = {"In": ["", "n = 3\nplt = None", "# Parameters\nplt = 3\nn = 5\n", "import matplotlib.pyplot as plt"],
                 "plt": types.ModuleType("matplotlib.pyplot"), "n": 5}
    with pytest.raises(InjectedParameterError, match=r"-p plt .* ignored: the notebook rebinds 'plt' to module"):
        check_injected_names(namespace)
    namespace["plt"] = 3
    assert check_injected_names(namespace, parameters=["n", "plt"]) == ["plt", "n"]
    with pytest.raises(InjectedParameterError, match="'plt' is not a parameter of this notebook; its parameters are"):
        check_injected_names(namespace, parameters=["n"])
    assert check_injected_names({"n": 1}) == []  # not a papermill run


# ---------------------------------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize("value, kwargs, error, match", [
    (float("inf"), {"lo": 0, "lo_open": True}, ValueError, r"spacing=inf must be a finite number in \(0, \+inf\]"),
    (float("nan"), {}, ValueError, "spacing=nan must be a finite number"),
    (0, {"lo": 1, "integer": True}, ValueError, r"out of range: it must be an integer in \[1, \+inf\]"),
    (2.5, {"integer": True}, ValueError, "must be an integer"),
    (True, {}, TypeError, "not bool"),
    ("1", {}, TypeError, "not str"),
    (0.0, {"lo": 0, "lo_open": True}, ValueError, "out of range"),
    (1.0, {"hi": 1, "hi_open": True}, ValueError, "out of range"),
])
def test_bad_numbers_are_named(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_number("spacing", value, **kwargs)


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(-10, 10), st.floats(0, 10))
def test_check_number_accepts_exactly_the_finite_values_in_range(value, lo, width):
    hi = lo + width
    inside = np.isfinite(value) and lo <= value <= hi
    if inside:
        assert check_number("x", value, lo=lo, hi=hi) == value
    else:
        with pytest.raises(ValueError):
            check_number("x", value, lo=lo, hi=hi)
