import pytest

from localbook import params
from localbook.params import ParameterError, check


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


# ----------------------------------------------------------------------------------------------------------------
# scale presets


def _presets():
    from localbook.params import Presets, Setting

    def combination(v):
        return [f"margin ({v['margin']}) must be at least the widest wavelet 2^J = {2 ** v['J']}"] \
            if v["margin"] < 2 ** v["J"] else []

    return Presets("99_toy", {
        "n": Setting((int, 2, 10**6), quick=100, medium=10_000, thesis=130_831, smoke=8, thesis_value="130,831 (all)",
                     help="molecules"),
        "J": Setting((int, 0, 6), quick=2, thesis=4),
        "margin": Setting((float, 0.0, 100.0), quick=4.0, medium=8.0, thesis=16.0),
    }, check=combination)


def test_presets_fill_none_from_the_scale_and_keep_given_values(capsys):
    presets = _presets()
    ns = {"scale": "medium", "n": None, "J": None, "margin": None, "smoke": False, "seed": 0}
    values = check(ns, presets)
    assert values["n"] == 10_000 and ns["J"] == 2 and ns["margin"] == 8.0  # J: medium defaults to quick
    out = capsys.readouterr().out
    assert "scale 'medium'" in out and "130,831 (all)" in out and "medium preset" in out
    ns = {"scale": "thesis", "n": 500, "J": None, "margin": None, "smoke": False}
    assert check(ns, presets, show=False)["n"] == 500 and ns["J"] == 4
    ns = {"scale": "thesis", "n": None, "J": None, "margin": None, "smoke": True}
    assert check(ns, presets, show=False)["n"] == 8  # smoke wins: CI's tiny run


def test_presets_refuse_bad_scales_values_and_combinations():
    presets = _presets()
    with pytest.raises(ParameterError, match="did you mean 'medium'"):
        check({"scale": "meduim", "n": None, "J": None, "margin": None}, presets)
    with pytest.raises(ParameterError, match="'n' = 1 is invalid"):
        check({"scale": "quick", "n": 1, "J": None, "margin": None}, presets)
    with pytest.raises(ParameterError, match="margin .* widest wavelet"):
        check({"scale": "quick", "n": None, "J": 5, "margin": None}, presets)
    with pytest.raises(ParameterError, match="must define scale"):
        check({"n": None, "J": None, "margin": None}, presets)
    with pytest.raises(ParameterError, match="unknown parameter 'nn'"):
        check({"scale": "quick", "n": None, "J": None, "margin": None, "nn": 3}, presets)


def test_presets_are_validated_when_declared():
    from localbook.params import Presets, Setting

    with pytest.raises(ParameterError, match="preset 'thesis' of 99_bad"):
        Presets("99_bad", {"n": Setting((int, 2, 100), quick=10, thesis=1000)})
    with pytest.raises(TypeError, match="Setting"):
        Presets("99_bad", {"n": (int, 2, 100)})


def test_scale_without_presets_is_refused():
    with pytest.raises(ParameterError, match="no scale presets"):
        check(namespace(scale="medium", seed=0))


def test_cost_line_and_memory_refusal(capsys, monkeypatch):
    from localbook.params import MEMORY_OVERRIDE, Presets, Setting

    presets = Presets("99_toy", {"n": Setting((int, 1, 10**9), quick=10, medium=40, thesis=10**7)},
                      work=lambda v: float(v["n"] ** 2), memory_gb=lambda v: v["n"] * 1e-3,
                      reference_seconds=lambda: 30.0)
    check({"scale": "medium", "n": None}, presets)
    out = capsys.readouterr().out
    assert "cost: 16 x the quick run, about 8 min on this machine" in out and "peak memory about 0.04 GB" in out
    with pytest.raises(ParameterError, match="needs about 1e\\+04 GB of memory"):
        check({"scale": "thesis", "n": None}, presets)
    monkeypatch.setenv(MEMORY_OVERRIDE, "1")
    assert check({"scale": "thesis", "n": None}, presets, show=False)["n"] == 10**7
