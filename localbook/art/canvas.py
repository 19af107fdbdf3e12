"""The dialog with a machine drawn and made interactive (thesis ch. 6.1): matplotlib panels of a
:class:`~localbook.art.dialog.Dialog` and the ipycanvas widget whose callbacks call the pure turn logic of
:mod:`localbook.art.dialog` (re-exported here, so a chapter imports one module).
"""
from __future__ import annotations

import numpy as np

from localbook.art.dialog import (
    HUMAN_COLOR,
    MACHINE_COLOR,
    Completer,
    Dialog,
    Turn,
    check_strokes,
    completion_points,
    cut_to_canvas,
    drawing_stroke3,
    human_turn,
    machine_turn,
    model_to_pixels,
    pixels_to_model,
    play_script,
    replay,
    simplify_strokes,
    undo,
)

__all__ = ["Turn", "Dialog", "Completer", "check_strokes", "pixels_to_model", "model_to_pixels", "drawing_stroke3",
           "completion_points", "simplify_strokes", "cut_to_canvas", "human_turn", "machine_turn", "undo", "replay",
           "play_script", "draw_dialog", "plot_history", "CanvasDialog", "build_canvas_widget", "HUMAN_COLOR",
           "MACHINE_COLOR"]


# ---------------------------------------------------------------------------------------------- drawing
def draw_dialog(ax, dialog: Dialog, highlight_last: bool = True, lw: float = 2.0):
    """Draw the dialog's strokes on a matplotlib ``ax`` (person red, machine blue), canvas orientation.

    With ``highlight_last`` the strokes of earlier turns are drawn lighter than those of the last turn.
    Single-point strokes are drawn as dots. Returns ``ax``.
    """
    from matplotlib.collections import LineCollection

    n = len(dialog.turns)
    for i, turn in enumerate(dialog.turns):
        color = HUMAN_COLOR if turn.author == "human" else MACHINE_COLOR
        alpha = 1.0 if (i == n - 1 or not highlight_last) else 0.35
        lines = [s for s in turn.strokes if len(s) > 1]
        dots = [s for s in turn.strokes if len(s) == 1]
        if lines:
            ax.add_collection(LineCollection(lines, colors=color, linewidths=lw, alpha=alpha, capstyle="round"))
        if dots:
            d = np.concatenate(dots)
            ax.plot(d[:, 0], d[:, 1], "o", color=color, ms=lw * 1.5, alpha=alpha)
    ax.set_xlim(0, dialog.width)
    ax.set_ylim(dialog.height, 0)  # y downwards, as on the canvas
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():  # the canvas border (the book style hides the top and right spines)
        spine.set_visible(True)
        spine.set_color("0.6")
    return ax


def plot_history(dialog: Dialog, axes=None, ncols: int = 4, panel_size: float = 2.2):
    """One panel per turn showing the drawing after it (earlier turns lighter); returns the figure.

    ``axes``: a sequence of at least ``len(dialog.turns)`` matplotlib axes, or None to make a grid.
    """
    import matplotlib.pyplot as plt

    n = len(dialog.turns)
    if n == 0:
        raise ValueError("the dialog has no turns to plot; play at least one turn first")
    if axes is None:
        ncols = min(ncols, n)
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows), squeeze=False)
        axes = list(axes.ravel())
        for ax in axes[n:]:
            ax.set_visible(False)
    else:
        axes = list(np.ravel(axes))
        if len(axes) < n:
            raise ValueError(f"{len(axes)} axes for {n} turns; pass at least one ax per turn, or axes=None")
        fig = axes[0].figure
    for i, (ax, state) in enumerate(zip(axes, replay(dialog))):
        turn = state.turns[-1]
        draw_dialog(ax, state)
        label = f"{i + 1}. {turn.author}"
        if turn.author == "machine":
            label += f" (T={turn.params.get('temperature', float('nan')):g})" if turn.strokes else " (passed)"
        ax.set_title(label, fontsize=9, color=HUMAN_COLOR if turn.author == "human" else MACHINE_COLOR)
    return fig


# ----------------------------------------------------------------------------------------------- widget
class CanvasDialog:
    """The interactive dialog: an ipycanvas ``Canvas`` with buttons and sliders around a :class:`Dialog`.

    The person draws red strokes with the mouse; they stay *pending* until "machine's turn", which records
    them with :func:`human_turn` and calls :func:`machine_turn` (amount = the "completion" slider, a
    fraction of the points drawn so far; temperature = its slider; seed = ``seed`` + turn index; the mouse
    strokes are simplified for the model with tolerance ``epsilon`` pixels). "undo"
    removes the last pending stroke, else the last turn (:func:`undo`); "replay" redraws the turns one by
    one (:func:`replay`); "clear" empties the history. Errors are shown in the status line. The mouse
    handlers (:meth:`mouse_down`, :meth:`mouse_move`, :meth:`mouse_up`) take canvas pixel coordinates.
    Display it as the last expression of a cell, or ``display(widget.box)``.
    """

    def __init__(self, completer: Completer, dialog: Dialog | None = None, amount: float = 0.5,
                 temperature: float = 0.5, seed: int = 0, epsilon: float = 2.0, line_width: float = 3.0,
                 replay_delay: float = 0.6):
        import ipywidgets as w
        from ipycanvas import Canvas

        self.completer = completer
        self.dialog = dialog if dialog is not None else Dialog()
        self.seed = seed
        self.epsilon = epsilon
        self.line_width = line_width
        self.replay_delay = replay_delay
        self.pending: list[np.ndarray] = []  # finished strokes of the person's turn in progress
        self._current: list[tuple[float, float]] | None = None  # the stroke under the mouse
        self.last_drawn: list[tuple[str, np.ndarray]] = []  # (color, stroke) of the last full redraw

        # The canvas is shown at its own size in pixels (the default layout stretches it to the page width, so
        # that a 400-px canvas became ~950 px and the controls no longer fitted on a laptop screen with it).
        self.canvas = Canvas(width=self.dialog.width, height=self.dialog.height,
                             layout=w.Layout(width=f"{self.dialog.width}px", height=f"{self.dialog.height}px",
                                             min_width=f"{self.dialog.width}px", border="1px solid #999",
                                             flex="0 0 auto"))
        self.canvas.on_mouse_down(self.mouse_down)
        self.canvas.on_mouse_move(self.mouse_move)
        self.canvas.on_mouse_up(self.mouse_up)
        self.canvas.on_mouse_out(self.mouse_up)
        small = w.Layout(width="120px")
        self.machine_button = w.Button(description="machine's turn", button_style="info", layout=small)
        self.undo_button = w.Button(description="undo", layout=small)
        self.replay_button = w.Button(description="replay", layout=small)
        self.clear_button = w.Button(description="clear", button_style="warning", layout=small)
        wide, label = w.Layout(width="250px"), {"description_width": "85px"}
        self.amount_slider = w.FloatSlider(value=amount, min=0.05, max=1.0, step=0.05, description="completion",
                                           continuous_update=False, readout_format=".2f", layout=wide, style=label)
        self.temperature_slider = w.FloatSlider(value=temperature, min=0.05, max=1.5, step=0.05,
                                                description="temperature", continuous_update=False, layout=wide,
                                                style=label)
        self.status = w.HTML("Draw in red, then press \"machine's turn\".", layout=w.Layout(width="250px"))
        self.machine_button.on_click(self.on_machine)
        self.undo_button.on_click(self.on_undo)
        self.replay_button.on_click(self.on_replay)
        self.clear_button.on_click(self.on_clear)
        # Controls in a column beside the canvas: the whole widget is about (width + 270) x max(height, 220)
        # pixels, so a 360-px canvas and every control fit together on a 1366 x 768 screen.
        self.buttons = [self.machine_button, self.undo_button, self.replay_button, self.clear_button]
        controls = w.VBox([w.HBox(self.buttons[:2]), w.HBox(self.buttons[2:]), self.amount_slider,
                           self.temperature_slider, self.status], layout=w.Layout(width="262px", flex="0 0 auto"))
        self.box = w.HBox([self.canvas, controls], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.box.add_class("localbook-canvas-dialog")
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):  # pragma: no cover - needs a front end
        return self.box._repr_mimebundle_(**kwargs)

    def _say(self, text: str) -> None:
        """Show ``text`` in the status line (an HTML widget, so that long messages wrap)."""
        import html

        self.status.value = html.escape(text, quote=False)

    # -- mouse (canvas pixel coordinates; clipped onto the canvas)
    def _clip(self, x: float, y: float) -> tuple[float, float]:
        return float(min(max(x, 0.0), self.dialog.width)), float(min(max(y, 0.0), self.dialog.height))

    def mouse_down(self, x: float, y: float) -> None:
        self._current = [self._clip(x, y)]

    def mouse_move(self, x: float, y: float) -> None:
        if self._current is None:
            return
        p = self._clip(x, y)
        self.canvas.stroke_style = HUMAN_COLOR
        self.canvas.line_width = self.line_width
        self.canvas.stroke_line(*self._current[-1], *p)
        self._current.append(p)

    def mouse_up(self, x: float, y: float) -> None:
        if self._current is None:
            return
        p = self._clip(x, y)
        if p != self._current[-1]:
            self.mouse_move(*p)
        self.pending.append(check_strokes([self._current], self.dialog.width, self.dialog.height)[0])
        self._current = None
        self.redraw()
        self._say(f"{len(self.pending)} stroke(s) in this turn; press \"machine's turn\" to answer")

    # -- buttons (the argument is the clicked button, unused)
    def on_machine(self, _=None) -> None:
        self._say("the machine is drawing...")
        try:
            if self.pending:
                human_turn(self.dialog, self.pending)
                self.pending = []
            turn = machine_turn(self.dialog, self.completer, float(self.amount_slider.value),
                                float(self.temperature_slider.value), self.seed + len(self.dialog.turns),
                                self.epsilon)
        except ValueError as exc:
            self._say(str(exc))
        else:
            self._say(f"turn {len(self.dialog.turns)}: the machine added {turn.n_points} points in "
                      f"{len(turn.strokes)} stroke(s); your turn" if turn.strokes else
                      f"turn {len(self.dialog.turns)}: the machine passed (it ended the sketch); "
                      "your turn, or undo and ask again at another temperature")
        self.redraw()

    def on_undo(self, _=None) -> None:
        if self.pending:
            self.pending.pop()
            self._say("removed your last stroke")
        else:
            try:
                turn = undo(self.dialog)
            except ValueError as exc:
                self._say(str(exc))
            else:
                self._say(f"removed the {turn.author}'s turn")
        self.redraw()

    def on_replay(self, _=None) -> None:
        import time

        for i, state in enumerate(replay(self.dialog)):
            self.redraw(state, pending=[])
            self._say(f"replay: turn {i + 1} of {len(self.dialog.turns)} ({state.turns[-1].author})")
            time.sleep(self.replay_delay)
        self.redraw()

    def on_clear(self, _=None) -> None:
        self.dialog.turns.clear()
        self.pending = []
        self._current = None
        self._say("cleared; draw in red")
        self.redraw()

    # -- rendering
    def redraw(self, dialog: Dialog | None = None, pending: list[np.ndarray] | None = None) -> None:
        """Clear the canvas and draw ``dialog``'s turns (default: the current one) and the pending strokes."""
        from ipycanvas import hold_canvas

        dialog = self.dialog if dialog is None else dialog
        pending = self.pending if pending is None else pending
        items = [(HUMAN_COLOR if t.author == "human" else MACHINE_COLOR, s) for t in dialog.turns for s in t.strokes]
        items += [(HUMAN_COLOR, s) for s in pending]
        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = "white"
            self.canvas.fill_rect(0, 0, dialog.width, dialog.height)
            self.canvas.line_width = self.line_width
            self.canvas.line_cap = "round"
            self.canvas.line_join = "round"
            for color, s in items:
                self.canvas.stroke_style = color
                self.canvas.fill_style = color
                if len(s) > 1:
                    self.canvas.stroke_lines(s)
                else:
                    self.canvas.fill_circle(s[0, 0], s[0, 1], self.line_width / 2)
        self.last_drawn = items


def build_canvas_widget(completer: Completer, width: int = 400, height: int = 400, scale: float | None = None,
                        centre: tuple[float, float] | None = None, dialog: Dialog | None = None,
                        **kwargs) -> CanvasDialog:
    """A :class:`CanvasDialog` on ``dialog`` or a fresh ``Dialog(width, height, scale, centre)``.

    ``kwargs`` (``amount``, ``temperature``, ``seed``, ``epsilon``, ``line_width``, ``replay_delay``) go to
    :class:`CanvasDialog`; a ``dialog`` that already has turns is shown and continued.

    Needs ipycanvas (imported here, not at module import, so headless use does not).
    """
    return CanvasDialog(completer, dialog if dialog is not None else Dialog(width, height, scale, centre), **kwargs)
