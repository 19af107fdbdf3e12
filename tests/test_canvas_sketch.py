"""The dialog with the real sketch RNN completer (an untrained, seeded small model: this checks the contract
between ``localbook.art.canvas`` and ``localbook.art.sketch``, not the quality of the drawings)."""
import numpy as np
import pytest

from localbook.art import canvas as cv

sketch = pytest.importorskip("localbook.art.sketch")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def completer():
    torch.manual_seed(0)
    config = sketch.SketchConfig(enc_hidden=8, dec_hidden=16, z_dim=4, n_mixtures=3, max_len=40)
    return sketch.SketchCompleter(sketch.SketchRNN(config, scale=3.0), device="cpu")


def test_scripted_dialog_with_the_sketch_rnn(completer):
    d = cv.Dialog.for_box(200, 200, box=109.0, unit=completer.scale)
    script = [[np.array([[40.0, 50.0], [90.0, 52.0], [150.0, 48.0]]), np.array([[100.0, 20.0], [100.0, 180.0]])],
              [np.array([[30.0, 150.0], [170.0, 150.0]])]]
    d = cv.play_script(completer, script, amount=6, temperature=[0.3, 0.8], seed=5, dialog=d)
    assert [t.author for t in d.turns] == ["human", "machine"] * 2
    for t in d.turns[1::2]:
        assert t.params["n_returned"] <= 6 and t.n_points == t.params["n_returned"]
        for s in t.strokes:
            assert s.shape[1] == 2 and np.isfinite(s).all()
            assert (s >= 0).all() and (s <= 200).all()
    again = cv.play_script(completer, script, amount=6, temperature=[0.3, 0.8], seed=5,
                           dialog=cv.Dialog.for_box(200, 200, box=109.0, unit=completer.scale))
    assert again.to_json() == d.to_json()  # seeded: a scripted run replays exactly
