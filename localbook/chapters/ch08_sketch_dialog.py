"""Chapter 08, the sketch dialog (thesis ch. 6.1): its settings at each scale.

The thesis reports no number for its sketcher (the painters judge it), so no preset reproduces a thesis
setting: "medium" scores more samples and completions, "thesis" also continues the training of the shipped
weights (the thesis refined its QuickDraw model on the painters' own strokes; here, on KanjiVG).
"""
from __future__ import annotations

from functools import partial

from localbook.chapters import quick_run_seconds
from localbook.params import Presets, Setting

_NONE = "none reported (the painters judge the sketcher)"

def _work(v: dict) -> float:
    """Decoder steps of the sketch RNN (~100 points per character): scoring the held-out characters, sampling
    and completing at each temperature, the dialog's turns, and fine-tuning (a training step, a batch of 100
    characters forward and backward, cost 0.58 s when the shipped weights were trained here: 3,900 steps in
    38 min; about 30 characters scored)."""
    points = 100.0
    sampled = len(v["temperatures"]) * v["n_samples"] + v["n_completions"] + v["n_turns"] + v["n_examples"]
    return float(points * (2 * v["n_eval"] + sampled + 30 * v["fine_tune_steps"]))


PRESETS = Presets("08_sketch_dialog", {
    "n_examples": Setting((int, 1, 48), quick=12, smoke=4, thesis_value="-", help="training characters shown"),
    "n_eval": Setting((int, 1, 671), quick=670, smoke=24, thesis_value=_NONE,
                      help="validation / test characters scored (all: 670 / 671)"),
    "temperatures": Setting([float, 0.01, 2.0], quick=[0.1, 0.4, 0.8], medium=[0.1, 0.2, 0.4, 0.6, 0.8, 1.0],
                            smoke=[0.4], thesis_value="not stated (Ha & Eck: 0.1 to 1.0)",
                            help="sampling temperatures tau"),
    "n_samples": Setting((int, 1, 24), quick=6, medium=12, smoke=2, thesis_value="-",
                         help="unconditional samples per temperature"),
    "n_completions": Setting((int, 1, 24), quick=6, medium=12, smoke=2, thesis_value="-",
                             help="held-out characters completed from their first strokes"),
    "completion_tau": Setting((float, 0.01, 2.0), quick=0.3, thesis_value="not stated",
                              help="temperature of the completions"),
    "fine_tune_steps": Setting((int, 0, 100_000), quick=0, medium=0, thesis=2000, smoke=0,
                               thesis_value="refined on the painters' strokes (steps not stated)",
                               help="extra training steps on the shipped weights"),
    "n_turns": Setting((int, 1, 8), quick=3, smoke=2, thesis_value="a painting session",
                       help="scripted human turns of the replayed dialog"),
}, work=_work, memory_gb=lambda v: 1.0, reference_seconds=partial(quick_run_seconds, "08_sketch_dialog"))
