import json

import numpy as np
import pytest
from ase.build import molecule

import localbook
from localbook.data.cache import ArrayCache, CacheCorruptionWarning, cache_key, fingerprint


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.full(3, value)}
    return compute, calls


def test_computed_once_then_read_back(tmp_path):
    cache = ArrayCache(tmp_path)
    compute, calls = counting(1.5)
    a = cache.get_or_compute("f", compute, inputs=[np.arange(4)], params={"p": 1})
    b = cache.get_or_compute("f", compute, inputs=[np.arange(4)], params={"p": 1})
    assert len(calls) == 1 and np.array_equal(a["x"], b["x"])


def test_key_depends_on_inputs_params_name_and_version(monkeypatch):
    base = cache_key("f", [np.arange(4)], {"p": 1})
    assert cache_key("f", [np.arange(5)], {"p": 1}) != base
    assert cache_key("f", [np.arange(4)], {"p": 2}) != base
    assert cache_key("g", [np.arange(4)], {"p": 1}) != base
    assert cache_key("f", [np.arange(4).astype(float)], {"p": 1}) != base
    monkeypatch.setattr(localbook, "__version__", "9.9.9")
    assert cache_key("f", [np.arange(4)], {"p": 1}) != base


def test_fingerprint_distinguishes_types_and_atoms():
    assert fingerprint(1) != fingerprint(1.0) != fingerprint("1")
    water = molecule("H2O")
    moved = water.copy()
    moved.positions[0, 0] += 1e-9
    assert fingerprint(water) == fingerprint(water.copy())
    assert fingerprint(water) != fingerprint(moved)
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(object())


def test_corrupted_entry_is_detected_and_recomputed(tmp_path):
    cache = ArrayCache(tmp_path)
    compute, calls = counting(2.0)
    cache.get_or_compute("f", compute, inputs=[1])
    (npz,) = tmp_path.glob("*.npz")
    raw = bytearray(npz.read_bytes())
    raw[-10] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with pytest.warns(CacheCorruptionWarning, match="checksum mismatch"):
        out = cache.get_or_compute("f", compute, inputs=[1])
    assert len(calls) == 2 and np.array_equal(out["x"], np.full(3, 2.0))


def test_entry_from_another_version_is_stale(tmp_path):
    cache = ArrayCache(tmp_path)
    compute, calls = counting(3.0)
    key = cache_key("f", [1])
    cache.save(key, compute())
    meta = tmp_path / f"{key}.json"
    info = json.loads(meta.read_text())
    info["version"] = "0.0.0"
    meta.write_text(json.dumps(info))
    with pytest.warns(CacheCorruptionWarning, match="written by localbook 0.0.0"):
        assert cache.load(key) is None


def test_cache_can_be_disabled(tmp_path):
    cache = ArrayCache("off")
    compute, calls = counting(1.0)
    cache.get_or_compute("f", compute, inputs=[1])
    cache.get_or_compute("f", compute, inputs=[1])
    assert len(calls) == 2
