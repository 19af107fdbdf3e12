import numpy as np
import pytest
import torch

from localbook.device import pick_device, seed_everything


def test_auto_and_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")


def test_bad_device_names_the_choices():
    with pytest.raises(ValueError, match="not one of"):
        pick_device("gpu")
    with pytest.raises(TypeError):
        pick_device(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_is_an_error():
    with pytest.raises(RuntimeError, match="sees no CUDA device"):
        pick_device("cuda")


def test_seed_everything_reproduces():
    g1 = seed_everything(5)
    a = (torch.rand(3), np.random.rand(2), g1.random())
    g2 = seed_everything(5)
    b = (torch.rand(3), np.random.rand(2), g2.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_best_of_returns_the_fastest_time_and_the_result():
    from localbook.device import best_of

    calls = []
    seconds, out = best_of(lambda: calls.append(1) or 42, repeat=3)
    assert out == 42 and len(calls) == 3 and 0 <= seconds < 1
