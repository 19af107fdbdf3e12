"""A sketch RNN that completes pen strokes: the thesis' "neural sketcher" (thesis section 6.1.2).

The thesis' painting installation feeds the strokes on the canvas to "a recurrent neural network based on
[Ha and Eck, 2018]", which "outputs a similar series that we convert back as strokes". This module is that
network, in torch, after Ha and Eck (2018), "A neural representation of sketch drawings":

* **Stroke-3** (the exchange format): an (n, 3) float32 array of rows (dx, dy, pen_lifted); dx, dy is the
  offset of a point from the previous one (the first from an origin), ``pen_lifted = 1`` when the pen leaves
  the paper after this point (the point ends a stroke). :func:`strokes_to_stroke3` / :func:`stroke3_to_strokes`
  convert from / to lists of absolute (k, 2) point arrays.
* **Stroke-5** (the network's format): rows (dx, dy, p1, p2, p3), one-hot pen state: p1 pen down after the
  point, p2 pen lifted, p3 end of the sketch; sequences start with the token S0 = (0, 0, 1, 0, 0) and are
  padded with (0, 0, 0, 0, 1) (:func:`stroke3_to_stroke5`).
* **Model** (:class:`SketchRNN`): a bidirectional LSTM encoder gives mu and sigma of a latent z (Ha and Eck
  eq. 2); the decoder LSTM, initialised by tanh(W z), reads (S_{i-1}, z) and outputs a mixture of M bivariate
  Gaussians for (dx, dy) and 3 pen-state logits (eq. 3). Loss (eq. 4-8): reconstruction
  L_R = L_s + L_p plus w_KL * eta_step * max(KL, KL_min), eta_step annealed from eta_min towards 1.
* **Sampling**: temperature tau scales the mixture and pen logits by 1/tau and the variances by tau
  (Ha and Eck section 3.3); :class:`SketchCompleter` continues a partial drawing.

Offsets inside the model are in *normalised units*: KanjiVG units divided by the dataset's offset standard
deviation, stored in ``SketchRNN.scale`` (see :func:`normalise` / :func:`denormalise`).

The package, one concern per module: :mod:`~localbook.art.sketch.model` (network and losses),
:mod:`~localbook.art.sketch.sampling` (sampling, completion), :mod:`~localbook.art.sketch.training` (the loop,
held-out NLL, learning curve, baseline), :mod:`~localbook.art.sketch.weights` (the shipped weights),
:mod:`~localbook.art.sketch.figures` (drawings) and :mod:`~localbook.art.sketch.cli`
(``python -m localbook.art.sketch train --help``). The stroke formats live in :mod:`localbook.data.strokes`
(KanjiVG reads them too) and are re-exported here.
"""
from localbook.art.sketch.cli import main
from localbook.art.sketch.figures import codepoint_title, draw_stroke3, plot_drawings
from localbook.art.sketch.model import SketchConfig, SketchRNN, mixture_nll, pen_nll
from localbook.art.sketch.sampling import SketchCompleter, complete, reconstruct, sample, split_strokes
from localbook.art.sketch.training import baseline_nll_per_point, evaluate_nll, train, write_curve
from localbook.art.sketch.weights import (
    CURVE_ARTEFACT,
    CURVE_FILE,
    WEIGHTS_ARTEFACT,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    load_model,
    load_pretrained,
    read_curve,
    save_model,
)
from localbook.data.strokes import (
    denormalise,
    normalise,
    offset_scale,
    stroke3_to_stroke5,
    stroke3_to_strokes,
    stroke5_to_stroke3,
    strokes_to_stroke3,
)

__all__ = [
    "strokes_to_stroke3", "stroke3_to_strokes", "normalise", "denormalise", "offset_scale", "stroke3_to_stroke5",
    "stroke5_to_stroke3", "mixture_nll", "pen_nll", "SketchConfig", "SketchRNN", "sample", "complete",
    "SketchCompleter", "load_pretrained", "save_model", "load_model", "train", "evaluate_nll", "read_curve",
    "write_curve", "draw_stroke3", "split_strokes", "plot_drawings", "codepoint_title", "reconstruct",
    "baseline_nll_per_point", "main", "WEIGHTS_DIR", "WEIGHTS_FILE", "CURVE_FILE",
    "WEIGHTS_ARTEFACT", "CURVE_ARTEFACT",
]
