"""Dialog on a canvas with a machine (thesis ch. 6.1): the turn logic and a headless scripted run (pure: no
widget, no plotting, no torch; :mod:`localbook.art.canvas` draws it and puts it in a widget).

In the thesis' installation two painters take turns on a canvas and a *neural sketcher* (a sketch RNN,
Ha & Eck 2018) is a third player: at its round the drawing so far is read as a sequence of pen points,
the network continues it, and the continuation is projected back "in blue" (thesis ch. 6.1.1-6.1.2).
The "amount of completion" is one of the controls the artists keep (ch. 6.1.3).

Here the person draws in red with the mouse (or a script supplies the strokes) and the machine answers in
blue. Everything that decides what happens is a plain function on a :class:`Dialog`:

- :func:`human_turn`, :func:`machine_turn` (alternation enforced), :func:`undo`, :func:`replay`;
- :meth:`Dialog.to_json` / :meth:`Dialog.from_json`;
- :func:`play_script` (a headless run of scripted human strokes);
- in :mod:`localbook.art.canvas`: :func:`~localbook.art.canvas.plot_history` (matplotlib) and
  :func:`~localbook.art.canvas.build_canvas_widget`, an ipycanvas front end whose callbacks call the functions above.

**Coordinates.** A *stroke* is a float array ``(k, 2)`` of absolute canvas pixel positions ``(x, y)``,
``x`` to the right and ``y`` downwards, inside ``[0, width] x [0, height]``. The machine works in *model
units*: ``model = (pixel - centre) / scale`` (no flip: model ``y`` points down as well, like the SVG and
Quick, Draw! coordinates sketch models are trained on). ``scale`` is canvas pixels per model unit and
``centre`` the canvas pixel at model ``(0, 0)``; both are explicit fields of the dialog.

**Stroke-3** (Ha & Eck 2018, after Graves 2013): a float32 array ``(n, 3)`` of rows ``(dx, dy, pen_lifted)``,
offsets in model units from the previous point (the first row from the model origin), ``pen_lifted = 1``
when the pen leaves the paper after this point (it ends a stroke). The conversions are those of
:mod:`localbook.art.sketch` (``strokes_to_stroke3``, ``stroke3_to_strokes``).

**Completer.** Any callable ``completer(stroke3, n_points, temperature, seed) -> (m, 3)`` that returns only
the continuation of ``stroke3``, at most ``n_points`` rows, in the same units; its first offset is taken
from the last point drawn so far (``localbook.art.sketch.SketchCompleter`` is one). An empty answer (the
model ended the sketch at once) is a machine turn that *passes*: it is recorded with no strokes.

For the sketch RNN trained on KanjiVG, :meth:`Dialog.for_box` sets ``scale`` and ``centre`` so that the
canvas shows the training box (origin at the top-left corner, 109 KanjiVG units across) in the model's
normalised units.

Example (headless; in Jupyter ``build_canvas_widget(completer, dialog=Dialog.for_box(...))`` is the widget)::

    completer = SketchCompleter(load_pretrained())                  # localbook.art.sketch
    d = Dialog.for_box(400, 400, box=109.0, unit=completer.scale)
    script = [d.to_pixels(first_strokes_in_model_units), [[(40, 300), (360, 300)]]]
    d = play_script(completer, script, amount=0.5, temperature=[0.2, 0.6], seed=0, dialog=d, epsilon=3.0)
    fig = plot_history(d)
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from localbook.data.strokes import stroke3_to_strokes, strokes_to_stroke3

__all__ = ["Turn", "Dialog", "Completer", "check_strokes", "pixels_to_model", "model_to_pixels", "drawing_stroke3",
           "completion_points", "simplify_strokes", "cut_to_canvas", "human_turn", "machine_turn", "undo", "replay",
           "play_script", "HUMAN_COLOR", "MACHINE_COLOR"]

HUMAN_COLOR = "#d62728"  # red: the person (the thesis' painters drew in red and green)
MACHINE_COLOR = "#1f77b4"  # blue: the machine's suggestions (thesis ch. 6.1.1)
AUTHORS = ("human", "machine")
JSON_FORMAT = "localbook.art.canvas.Dialog"
JSON_VERSION = 1

Completer = Callable[[np.ndarray, int, float, int], np.ndarray]


# --------------------------------------------------------------------------------------------- validation
def check_strokes(strokes: Sequence[Any], width: float, height: float, what: str = "strokes") -> list[np.ndarray]:
    """Validate a list of strokes on a ``width x height`` canvas; return them as read-only float64 ``(k, 2)``.

    Raises ``ValueError`` naming the problem and the fix for: a bare array instead of a list of strokes, an
    empty list, a stroke that is not ``(k, 2)`` with ``k >= 1``, NaN or infinite coordinates, and points
    outside ``[0, width] x [0, height]``.
    """
    if isinstance(strokes, np.ndarray):
        raise ValueError(f"{what} must be a list of (k, 2) point arrays, got one array of shape {strokes.shape}; "
                         "wrap a single stroke in a list: [stroke]")
    if strokes is None or len(strokes) == 0:
        raise ValueError(f"{what}: no strokes given; draw at least one stroke (a list of (k, 2) point arrays)")
    out = []
    for i, s in enumerate(strokes):
        try:
            a = np.array(s, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}[{i}] is not numeric ({exc}); give each stroke as a (k, 2) array of x, y "
                             "pixel coordinates") from None
        if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] == 0:
            raise ValueError(f"{what}[{i}] has shape {a.shape}; each stroke must be a (k, 2) array of x, y pixel "
                             "coordinates with k >= 1 points")
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what}[{i}] has {int(bad.sum())} point(s) with NaN or infinite coordinates (first "
                             f"at index {j}); drop them, e.g. stroke[np.isfinite(stroke).all(axis=1)]")
        outside = (a < 0).any(axis=1) | (a[:, 0] > width) | (a[:, 1] > height)
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise ValueError(f"{what}[{i}] has {int(outside.sum())} point(s) outside the {width:g} x {height:g} "
                             f"canvas (first: {tuple(a[j].round(2))}); clip them with "
                             f"np.clip(stroke, 0, [{width:g}, {height:g}]) or use a larger canvas")
        a.flags.writeable = False
        out.append(a)
    return out


def _check_stroke3(s3: Any, what: str) -> np.ndarray:
    a = np.asarray(s3, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"{what} must be a stroke-3 array of shape (n, 3) (dx, dy, pen_lifted), got shape "
                         f"{a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or infinite values; a completer must return finite offsets")
    return a


# ------------------------------------------------------------------------------------- model units
def pixels_to_model(points: np.ndarray, scale: float, centre: Sequence[float]) -> np.ndarray:
    """Canvas pixels -> model units: ``(points - centre) / scale`` (``scale`` in pixels per model unit)."""
    return (np.asarray(points, np.float64) - np.asarray(centre, np.float64)) / scale


def model_to_pixels(points: np.ndarray, scale: float, centre: Sequence[float]) -> np.ndarray:
    """Model units -> canvas pixels: ``centre + scale * points`` (inverse of :func:`pixels_to_model`)."""
    return np.asarray(centre, np.float64) + scale * np.asarray(points, np.float64)


# ------------------------------------------------------------------------------------------------ dialog
@dataclass(frozen=True)
class Turn:
    """One turn: who drew (``"human"`` or ``"machine"``), the strokes added (canvas pixels), the parameters used.

    ``params`` is empty for a human turn; for a machine turn it records ``amount``, ``n_points``,
    ``temperature``, ``seed``, ``n_returned`` (rows the completer returned) and ``n_clipped`` (points moved
    back onto the canvas). A human turn has at least one stroke; a machine turn that passed has none.
    """

    author: str
    strokes: list[np.ndarray]
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.author not in AUTHORS:
            raise ValueError(f"a turn's author must be one of {AUTHORS}, got {self.author!r}")

    @property
    def n_points(self) -> int:
        return int(sum(len(s) for s in self.strokes))


@dataclass
class Dialog:
    """A drawing made in turns on a ``width x height`` pixel canvas, and the mapping to the model's units.

    ``scale`` is canvas pixels per model unit (default: the shorter side spans 2 model units, ``[-1, 1]``);
    ``centre`` the pixel at model ``(0, 0)`` (default: the canvas centre). ``turns`` is the history.
    """

    width: int = 400
    height: int = 400
    scale: float | None = None
    centre: tuple[float, float] | None = None
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self):
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"the canvas {name} must be a positive integer number of pixels, got {v!r}")
        self.width, self.height = int(self.width), int(self.height)
        if self.scale is None:
            self.scale = min(self.width, self.height) / 2.0
        if not (isinstance(self.scale, numbers.Real) and math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale (canvas pixels per model unit) must be a positive number, got {self.scale!r}")
        self.scale = float(self.scale)
        if self.centre is None:
            self.centre = (self.width / 2.0, self.height / 2.0)
        self.centre = (float(self.centre[0]), float(self.centre[1]))

    @classmethod
    def for_box(cls, width: int = 400, height: int = 400, box: float = 109.0, unit: float = 1.0) -> Dialog:
        """A dialog whose canvas shows a model's training box in the model's units.

        The canvas' top-left corner is the model origin and its shorter side spans ``box`` data units;
        ``unit`` is data units per model unit. For the KanjiVG sketch RNN: ``box=109`` (the SVG box) and
        ``unit=completer.scale`` (the training offsets' standard deviation), so that ``scale = min(width,
        height) / box * unit`` pixels per normalised unit.
        """
        for name, v in (("box", box), ("unit", unit)):
            if not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number of data units, got {v!r}")
        return cls(width, height, scale=min(width, height) / float(box) * float(unit), centre=(0.0, 0.0))

    # -- units
    def to_model(self, strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Strokes in canvas pixels -> model units (:func:`pixels_to_model` with this dialog's frame)."""
        return [pixels_to_model(s, self.scale, self.centre) for s in strokes]

    def to_pixels(self, strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Strokes in model units -> canvas pixels, e.g. scripted strokes taken from the data set."""
        return [model_to_pixels(s, self.scale, self.centre) for s in strokes]

    # -- views of the drawing
    def strokes(self, author: str | None = None) -> list[np.ndarray]:
        """All strokes so far in drawing order (canvas pixels), optionally only ``author``'s."""
        return [s for t in self.turns if author in (None, t.author) for s in t.strokes]

    @property
    def n_points(self) -> int:
        return int(sum(t.n_points for t in self.turns))

    @property
    def next_author(self) -> str:
        """Who plays next: the person opens; then turns alternate."""
        return "machine" if self.turns and self.turns[-1].author == "human" else "human"

    def copy(self, n_turns: int | None = None) -> Dialog:
        """A dialog with the first ``n_turns`` turns (all by default); strokes are shared (they are read-only)."""
        return Dialog(self.width, self.height, self.scale, self.centre, list(self.turns[:n_turns]))

    # -- JSON
    def to_dict(self) -> dict:
        return {"format": JSON_FORMAT, "version": JSON_VERSION, "width": self.width, "height": self.height,
                "scale": self.scale, "centre": list(self.centre),
                "turns": [{"author": t.author, "strokes": [s.tolist() for s in t.strokes], "params": t.params}
                          for t in self.turns]}

    def to_json(self, indent: int | None = None) -> str:
        """The dialog as JSON (coordinates as float64 decimals, which read back exactly)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> Dialog:
        if not isinstance(d, dict) or d.get("format") != JSON_FORMAT:
            raise ValueError(f"not a saved dialog: expected a JSON object with \"format\": \"{JSON_FORMAT}\"; "
                             "save one with Dialog.to_json()")
        if d.get("version") != JSON_VERSION:
            raise ValueError(f"saved dialog version {d.get('version')!r} is not supported (this code reads "
                             f"version {JSON_VERSION}); save it again with this version of localbook")
        missing = [k for k in ("width", "height", "scale", "centre", "turns") if k not in d]
        if missing:
            raise ValueError(f"the saved dialog lacks {missing}; save it again with Dialog.to_json()")
        dialog = cls(d["width"], d["height"], d["scale"], tuple(d["centre"]))
        for i, t in enumerate(d["turns"]):
            passed = t["author"] == "machine" and not t["strokes"]
            strokes = [] if passed else check_strokes(t["strokes"], dialog.width, dialog.height,
                                                      what=f"turns[{i}].strokes")
            dialog.turns.append(Turn(t["author"], strokes, dict(t.get("params", {}))))
        _check_alternation(dialog.turns)
        return dialog

    @classmethod
    def from_json(cls, text: str) -> Dialog:
        """Read a dialog written by :meth:`to_json` (validates the strokes and the alternation of turns)."""
        return cls.from_dict(json.loads(text))


def _check_alternation(turns: Sequence[Turn]) -> None:
    authors = [t.author for t in turns]
    if authors and authors[0] != "human":
        raise ValueError("a dialog opens with a human turn; the first saved turn is the machine's")
    repeats = [i for i in range(1, len(authors)) if authors[i] == authors[i - 1]]
    if repeats:
        raise ValueError(f"turns must alternate between human and machine; turns {repeats[0] - 1} and "
                         f"{repeats[0]} are both by the {authors[repeats[0]]}")


def simplify_strokes(strokes: Sequence[np.ndarray], epsilon: float) -> list[np.ndarray]:
    """Each stroke simplified by Ramer--Douglas--Peucker with tolerance ``epsilon`` (same units as the points).

    A mouse gives a point every pixel or so, far denser than the training drawings (the KanjiVG strokes of
    :mod:`localbook.data.kanjivg` are simplified the same way, ``simplification`` package); ``epsilon = 0``
    returns the strokes unchanged. The first and last points of each stroke are kept.
    """
    if not (isinstance(epsilon, numbers.Real) and math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon (the simplification tolerance, in pixels) must be >= 0, got {epsilon!r}; "
                         "use 0 to keep every point")
    if epsilon == 0:
        return list(strokes)
    from simplification.cutil import simplify_coords

    return [np.asarray(simplify_coords(np.ascontiguousarray(s, dtype=np.float64), float(epsilon)), np.float64)
            if len(s) > 2 else s for s in strokes]


def cut_to_canvas(strokes: Sequence[np.ndarray], width: float, height: float) -> tuple[list[np.ndarray], int]:
    """Cut polylines (canvas pixels) to the ``[0, width] x [0, height]`` canvas.

    Each stroke is intersected with the canvas rectangle (shapely): the pieces inside are kept in drawing
    order, with new end points where a segment crosses the border, and the parts outside are dropped; a
    one-point stroke is kept if it lies on the canvas. Returns ``(pieces, n_outside)``, ``n_outside`` being
    the number of input points off the canvas.
    """
    import shapely

    hi = np.array([width, height], np.float64)
    frame = shapely.box(0.0, 0.0, float(width), float(height))
    pieces, n_outside = [], 0
    for s in strokes:
        s = np.asarray(s, np.float64)
        outside = ((s < 0) | (s > hi)).any(axis=1)
        n_outside += int(outside.sum())
        if not outside.any():
            pieces.append(s)
            continue
        if len(s) == 1:
            continue
        cut = shapely.LineString(s).intersection(frame)
        parts = getattr(cut, "geoms", [cut])
        pieces += [np.clip(np.asarray(g.coords, np.float64), 0.0, hi)  # rounding can leave 1e-13 outside
                   for g in parts if isinstance(g, shapely.LineString) and not g.is_empty]
    return pieces, n_outside


def drawing_stroke3(dialog: Dialog, epsilon: float = 0.0) -> np.ndarray:
    """The whole drawing so far as stroke-3 ``(n, 3)`` float32 in model units (first offset from model 0).

    ``epsilon`` > 0 simplifies each stroke first (:func:`simplify_strokes`, tolerance in canvas pixels).
    """
    return strokes_to_stroke3(dialog.to_model(simplify_strokes(dialog.strokes(), epsilon)))


def completion_points(amount: int | float, n_drawn: int) -> int:
    """Number of points the machine adds: ``amount`` points (an int >= 1) or a fraction (a float in (0, 1])
    of the ``n_drawn`` points drawn so far, at least 1."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise ValueError(f"amount must be a number of points (int >= 1) or a fraction of the drawing "
                         f"(float in (0, 1]), got {amount!r}")
    if isinstance(amount, (int, np.integer)):
        if amount < 1:
            raise ValueError(f"amount = {amount} points: ask for at least 1 point, or pass a fraction "
                             "such as 0.5 (half as many points as drawn so far)")
        return int(amount)
    if not (0 < amount <= 1):
        raise ValueError(f"amount = {amount} as a fraction must lie in (0, 1]; for a number of points pass an "
                         f"int, e.g. amount={max(1, round(amount))}")
    return max(1, int(round(amount * n_drawn)))


def human_turn(dialog: Dialog, strokes: Sequence[Any]) -> Turn:
    """The person adds ``strokes`` (a list of ``(k, 2)`` canvas-pixel arrays); returns the recorded turn.

    Raises ``ValueError`` if the last turn is already the person's (draw all strokes of a turn in one call,
    or let the machine play first) or if the strokes are invalid (see :func:`check_strokes`).
    """
    if dialog.next_author != "human":
        raise ValueError("it is the machine's turn: the last turn is already human; pass all of a turn's strokes "
                         "in one human_turn call, or call machine_turn first (or undo the last turn)")
    turn = Turn("human", check_strokes(strokes, dialog.width, dialog.height))
    dialog.turns.append(turn)
    return turn


def machine_turn(dialog: Dialog, completer: Completer, amount: int | float = 0.5, temperature: float = 0.5,
                 seed: int = 0, epsilon: float = 0.0) -> Turn:
    """The machine continues the drawing: returns the recorded turn (strokes in canvas pixels).

    The whole drawing so far becomes stroke-3 in model units (:func:`drawing_stroke3`, simplified with
    tolerance ``epsilon`` pixels when > 0: the recorded strokes are kept as drawn); ``completer(stroke3,
    n_points, temperature, seed)`` returns the continuation (``n_points`` from :func:`completion_points`,
    a fraction counting the points the model is given);
    its offsets are accumulated from the last pen position and mapped back to pixels. Where the machine's pen
    leaves the canvas its stroke is cut at the border (:func:`cut_to_canvas`): the part outside is dropped, a
    stroke that comes back continues as a new stroke, and the points outside are counted in
    ``params["n_clipped"]``. (Clipping the points onto the border instead drew lines along the edge.)

    Raises ``ValueError`` if the canvas is empty or the last turn is already the machine's (the person
    draws next; or undo the machine's turn to ask again, e.g. at another temperature or seed), and if the
    completer's answer is not a finite ``(m, 3)`` array with ``m <= n_points``. With ``m = 0`` the machine
    passes: the turn is recorded with no strokes.
    """
    if not dialog.turns:
        raise ValueError("the canvas is empty: the person opens the dialog; call human_turn first")
    if dialog.next_author != "machine":
        raise ValueError("it is the person's turn: the machine played last; call human_turn with new strokes, "
                         "or undo(dialog) and call machine_turn again to replace its answer")
    if isinstance(temperature, bool) or not (isinstance(temperature, numbers.Real) and math.isfinite(temperature)
                                             and temperature > 0):
        raise ValueError(f"temperature must be a positive number (e.g. 0.1 to 1), got {temperature!r}")
    s3 = drawing_stroke3(dialog, epsilon)
    n_points = completion_points(amount, len(s3))
    answer = completer(s3, n_points, float(temperature), int(seed))
    cont = _check_stroke3(answer, "the completer's answer")
    if len(cont) > n_points:
        raise ValueError(f"the completer returned {len(cont)} rows for n_points = {n_points}; it must return "
                         "at most n_points rows, of the continuation only (not the drawing it was given)")
    last = pixels_to_model(dialog.strokes()[-1][-1], dialog.scale, dialog.centre)  # RDP keeps it
    pixels, n_clipped = cut_to_canvas(dialog.to_pixels(stroke3_to_strokes(cont, origin=last)), dialog.width,
                                      dialog.height)
    amount = int(amount) if isinstance(amount, (int, np.integer)) else float(amount)
    params = {"amount": amount, "n_points": n_points,
              "temperature": float(temperature), "seed": int(seed), "n_returned": len(cont),
              "n_clipped": n_clipped, "epsilon": float(epsilon), "n_given": len(s3)}
    strokes = check_strokes(pixels, dialog.width, dialog.height, what="machine strokes") if pixels else []
    turn = Turn("machine", strokes, params)
    dialog.turns.append(turn)
    return turn


def undo(dialog: Dialog) -> Turn:
    """Remove and return the last turn (``ValueError`` if there is none)."""
    if not dialog.turns:
        raise ValueError("nothing to undo: the dialog has no turns yet")
    return dialog.turns.pop()


def replay(dialog: Dialog) -> Iterator[Dialog]:
    """The drawing state after each turn: ``len(dialog.turns)`` dialogs with 1, 2, ... turns."""
    for i in range(1, len(dialog.turns) + 1):
        yield dialog.copy(i)


def play_script(completer: Completer, human_strokes_per_turn: Sequence[Sequence[Any]],
                amount: int | float | Sequence[int | float] = 0.5, temperature: float | Sequence[float] = 0.5,
                seed: int = 0, width: int = 400, height: int = 400, scale: float | None = None,
                centre: tuple[float, float] | None = None, dialog: Dialog | None = None,
                epsilon: float = 0.0) -> Dialog:
    """A headless dialog: each entry of ``human_strokes_per_turn`` is one human turn, answered by the machine.

    The machine's ``k``-th answer (k = 0, 1, ...) uses seed ``seed + k``, so a script replays exactly with a
    deterministic completer. ``amount`` and ``temperature`` are one value for every answer or a sequence of
    one per answer. The canvas is ``Dialog(width, height, scale, centre)``, or ``dialog`` (an empty one, e.g.
    from :meth:`Dialog.for_box`) when given; ``epsilon`` goes to :func:`machine_turn`. Returns the dialog
    (``2 * len(human_strokes_per_turn)`` turns).
    """
    n = len(human_strokes_per_turn)
    per_turn = {}
    for name, value in (("amount", amount), ("temperature", temperature)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            value = [value] * n
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values for {n} scripted turns; give one value, or one "
                             "per turn")
        per_turn[name] = list(value)
    if dialog is None:
        dialog = Dialog(width, height, scale, centre)
    elif dialog.turns:
        raise ValueError(f"play_script starts on an empty canvas, but the dialog has {len(dialog.turns)} turns; "
                         "pass dialog.copy(0) or a new Dialog")
    for k, strokes in enumerate(human_strokes_per_turn):
        human_turn(dialog, strokes)
        machine_turn(dialog, completer, per_turn["amount"][k], per_turn["temperature"][k], seed + k, epsilon)
    return dialog
