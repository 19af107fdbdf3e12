import pytest

from localbook import params
from localbook.params import ParameterError


def namespace(**kw):
    ns = {"In": [], "Out": {}, "_": None, "__name__": "__main__", "params": params}
    ns.update(kw)
    return ns


def test_valid_parameters_pass_and_are_returned():
    ns = namespace(n=10, rate=1, pot="AM04", device="cpu", interactive=False, smoke=False, seed=3)
    values = params.check(ns, n=(int, 1, 100), rate=(float, 0, 2), pot=("AM04", "M03"))
    assert values["rate"] == 1.0 and isinstance(ns["rate"], float)
    assert values["device"] == "cpu" and values["seed"] == 3


def test_unknown_parameter_is_named_with_a_suggestion():
    ns = namespace(dims=[1, 2], dimz=3)
    with pytest.raises(ParameterError, match=r"unknown parameter 'dimz' \(did you mean 'dims'\?\)"):
        params.check(ns, dims=[int, 1, 64])


def test_wrong_type_and_range_name_the_parameter_and_what_is_allowed():
    with pytest.raises(ParameterError, match=r"'n' = 'ten'.*a str, not an int.*int in \[1, 100\]"):
        params.check(namespace(n="ten"), n=(int, 1, 100))
    with pytest.raises(ParameterError, match=r"'n' = 1000 is invalid \(out of range\)"):
        params.check(namespace(n=1000), n=(int, 1, 100))
    with pytest.raises(ParameterError, match=r"'n' = True"):
        params.check(namespace(n=True), n=(int, 0, 1))
    with pytest.raises(ParameterError, match=r"'pot' = 'AM4'.*did you mean 'AM04'"):
        params.check(namespace(pot="AM4"), pot=("AM04", "M03"))
    with pytest.raises(ParameterError, match=r"'device' = 'gpu'"):
        params.check(namespace(device="gpu"))


def test_list_parameter_given_as_a_string_by_papermill_is_parsed():
    ns = namespace(dims="[2, 32]")
    params.check(ns, dims=[int, 1, 64])
    assert ns["dims"] == [2, 32]
    with pytest.raises(ParameterError, match=r"'dims\[1\]' = 99"):
        params.check(namespace(dims="[2, 99]"), dims=[int, 1, 64])
    with pytest.raises(ParameterError, match="not a Python list literal"):
        params.check(namespace(dims="[2, "), dims=[int, 1, 64])


def test_cuda_index_is_a_valid_device():
    assert params.check(namespace(device="cuda:1"))["device"] == "cuda:1"


def test_headless_forces_interactive_off(monkeypatch):
    monkeypatch.setenv("LOCALBOOK_HEADLESS", "1")
    assert params.check(namespace(interactive=True))["interactive"] is False
    monkeypatch.setenv("LOCALBOOK_HEADLESS", "0")
    assert params.check(namespace(interactive=True))["interactive"] is True


def test_specified_but_undefined_parameter_is_reported():
    with pytest.raises(ParameterError, match="specified but not defined"):
        params.check(namespace(), n=(int, 1, 2))


def test_modules_functions_and_private_names_are_not_parameters():
    import math
    ns = namespace(math=math, f=lambda: 1, _hidden=3, n=2)
    params.check(ns, n=(int, 1, 2))


def test_bad_specification_is_a_type_error():
    with pytest.raises(TypeError, match="cannot read the parameter specification"):
        params.check(namespace(n=1), n=(list,))
