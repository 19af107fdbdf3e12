"""The dialog on a canvas (thesis ch. 6.1): stroke-3 conversion, turns, undo, replay, JSON, script, figure, widget.

The machine here is a deterministic test double, ``retrace``: it redraws the last stroke of the drawing
shifted by ``SHIFT`` model units. It is not a model; it makes the expected canvas strokes computable by hand.
"""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from localbook.art import canvas as cv  # noqa: E402

SHIFT = np.array([0.25, -0.125])  # model units


def retrace(s3, n_points, temperature, seed):
    """Continuation = the last stroke of ``s3`` again, shifted by ``SHIFT * (1 + seed % 2)``, cut to n_points."""
    s3 = np.asarray(s3, np.float64)
    ends = np.flatnonzero(s3[:, 2] > 0.5)
    start = ends[-2] + 1 if len(ends) > 1 else 0
    absolute = np.cumsum(s3[:, :2], axis=0)
    out = s3[start:].copy()
    out[0, :2] = absolute[start] + SHIFT * (1 + seed % 2) - absolute[-1]  # jump from the pen's last position
    out = out[:n_points]
    out[-1, 2] = 1.0
    return out.astype(np.float32)


def square(x0, y0, side, k=9):
    """A stroke of k points along three sides of a square (canvas pixels)."""
    t = np.linspace(0, 3, k)[:, None]
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    i = np.minimum(t[:, 0].astype(int), 2)
    return np.array([x0, y0]) + side * (corners[i] + (t - i[:, None]) * (corners[i + 1] - corners[i]))


def test_pixel_model_mapping_is_explicit_and_invertible():
    d = cv.Dialog(200, 100)  # defaults: centre = canvas centre, the shorter side spans 2 model units
    assert d.scale == 50.0 and d.centre == (100.0, 50.0)
    p = np.array([[0.0, 0.0], [100.0, 50.0], [200.0, 100.0]])
    m = cv.pixels_to_model(p, d.scale, d.centre)
    np.testing.assert_allclose(m, [[-2, -1], [0, 0], [2, 1]])
    np.testing.assert_allclose(cv.model_to_pixels(m, d.scale, d.centre), p)
    with pytest.raises(ValueError, match="scale"):
        cv.Dialog(100, 100, scale=0)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        cv.Dialog(0, 100)
    e = cv.Dialog(np.int64(10), 10)  # numpy sizes are stored as ints (JSON) and the border is on the canvas
    cv.human_turn(e, [[[0.0, 0.0], [10.0, 10.0]]])
    assert cv.Dialog.from_json(e.to_json()).width == 10


def test_machine_turn_continues_from_the_last_pen_position_in_pixels():
    d = cv.Dialog(400, 300, scale=40.0, centre=(150.0, 120.0))
    a, b = square(50, 60, 80), square(200, 150, 60, k=6)
    cv.human_turn(d, [a, b])
    seen = {}

    def spy(s3, n_points, temperature, seed):
        seen.update(s3=s3, n_points=n_points, temperature=temperature, seed=seed)
        return retrace(s3, n_points, temperature, seed)

    turn = cv.machine_turn(d, spy, amount=1.0, temperature=0.7, seed=4)
    np.testing.assert_allclose(seen["s3"], cv.drawing_stroke3(d.copy(1)))
    assert seen["n_points"] == 15 and seen["temperature"] == 0.7 and seen["seed"] == 4  # 1.0 x 15 points drawn
    assert turn.author == "machine" and len(turn.strokes) == 1
    np.testing.assert_allclose(turn.strokes[0], b + SHIFT * d.scale, atol=1e-3)  # b, shifted (seed 4 is even)
    assert turn.params == {"amount": 1.0, "n_points": 15, "temperature": 0.7, "seed": 4, "n_returned": 6,
                           "n_clipped": 0, "epsilon": 0.0, "n_given": 15}
    # the next human turn, then a machine answer of a fixed number of points continuing the new last stroke
    c = square(300, 40, 50)
    cv.human_turn(d, [c])
    turn = cv.machine_turn(d, retrace, amount=4, seed=1)
    np.testing.assert_allclose(turn.strokes[0], c[:4] + 2 * SHIFT * d.scale, atol=1e-3)
    assert [t.author for t in d.turns] == ["human", "machine", "human", "machine"]
    assert len(d.strokes("human")) == 3 and len(d.strokes("machine")) == 2 and d.n_points == 15 + 6 + 9 + 4


def test_mouse_strokes_are_simplified_for_the_model_but_kept_as_drawn():
    x = np.linspace(10, 110, 101)
    dense = np.stack([x, 50 + 0.3 * np.sin(x)], axis=1)  # a wobbly line, a point per pixel
    corner = np.concatenate([dense, np.stack([np.full(50, 110.0), np.linspace(51, 100, 50)], axis=1)])
    simple = cv.simplify_strokes([dense, corner, dense[:2]], epsilon=1.0)
    np.testing.assert_array_equal(simple[0], dense[[0, -1]])
    np.testing.assert_array_equal(simple[1], corner[[0, 100, -1]])
    assert len(simple[2]) == 2 and cv.simplify_strokes([dense], 0)[0] is dense
    with pytest.raises(ValueError, match="epsilon .* must be >= 0"):
        cv.simplify_strokes([dense], -1.0)
    d = cv.Dialog()
    cv.human_turn(d, [dense, corner])
    seen = []
    turn = cv.machine_turn(d, lambda s3, n, t, seed: seen.append(s3) or retrace(s3, n, t, seed), amount=1.0,
                           epsilon=1.0)
    assert len(seen[0]) == 5 and turn.params["n_given"] == 5 and turn.params["n_points"] == 5
    np.testing.assert_allclose(np.cumsum(seen[0][:, :2], axis=0)[-1], d.to_model([corner[-1:]])[0][0], atol=1e-5)
    assert d.turns[0].strokes[0].shape == (101, 2)  # the recorded drawing is untouched


def test_amount_is_points_or_a_fraction():
    assert cv.completion_points(7, 100) == 7
    assert cv.completion_points(0.25, 10) == 2  # round(2.5) -> 2 (banker's rounding), at least 1
    assert cv.completion_points(0.01, 10) == 1
    for bad, match in [(0, "at least 1 point"), (1.5, r"fraction must lie in \(0, 1\]"), (True, "amount must be"),
                       ("half", "amount must be")]:
        with pytest.raises(ValueError, match=match):
            cv.completion_points(bad, 10)


def test_a_box_dialog_maps_the_training_box_onto_the_canvas():
    d = cv.Dialog.for_box(436, 500, box=109.0, unit=2.5)  # 4 px per data unit, 2.5 data units per model unit
    assert d.scale == 10.0 and d.centre == (0.0, 0.0)
    np.testing.assert_allclose(cv.pixels_to_model([[436.0, 0.0]], d.scale, d.centre), [[43.6, 0.0]])
    with pytest.raises(ValueError, match="unit must be a positive number"):
        cv.Dialog.for_box(unit=0.0)
    e = cv.play_script(retrace, [[square(30, 30, 60)]], dialog=d.copy(0))
    assert e.scale == 10.0 and len(e.turns) == 2
    with pytest.raises(ValueError, match="starts on an empty canvas.*dialog.copy\\(0\\)"):
        cv.play_script(retrace, [[square(30, 30, 60)]], dialog=e)


def test_turns_alternate_with_errors_that_name_the_fix():
    d = cv.Dialog()
    with pytest.raises(ValueError, match="the canvas is empty.*call human_turn first"):
        cv.machine_turn(d, retrace)
    cv.human_turn(d, [square(10, 10, 50)])
    with pytest.raises(ValueError, match="machine's turn.*one human_turn call.*call machine_turn first"):
        cv.human_turn(d, [square(100, 100, 50)])
    cv.machine_turn(d, retrace)
    with pytest.raises(ValueError, match="person's turn.*call human_turn.*undo"):
        cv.machine_turn(d, retrace)
    cv.undo(d)
    assert d.next_author == "machine"
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        cv.machine_turn(d, retrace, temperature=0.0)
    assert len(d.turns) == 1


def test_undo_lets_the_machine_answer_again():
    d = cv.Dialog()
    cv.human_turn(d, [square(120, 120, 100)])
    first = cv.machine_turn(d, retrace, seed=0)
    assert cv.undo(d) is first and len(d.turns) == 1
    second = cv.machine_turn(d, retrace, seed=1)
    assert not np.allclose(first.strokes[0], second.strokes[0])
    cv.undo(d), cv.undo(d)
    with pytest.raises(ValueError, match="nothing to undo"):
        cv.undo(d)


def test_replay_yields_the_state_after_each_turn():
    d = cv.play_script(retrace, [[square(20, 20, 60)], [square(150, 150, 80), square(40, 250, 30, k=4)]])
    states = list(cv.replay(d))
    assert [len(s.turns) for s in states] == [1, 2, 3, 4]
    assert [len(s.strokes()) for s in states] == [1, 2, 4, 5]
    assert [s.turns[-1].author for s in states] == ["human", "machine"] * 2
    cv.undo(d)  # the states are snapshots: later changes do not alter them
    assert len(states[-1].turns) == 4


def test_json_round_trip_is_exact():
    d = cv.play_script(retrace, [[square(20.123456789, 20, 60)], [square(150, 150, 80)]], amount=5,
                       temperature=0.3, seed=7, width=300, height=320, scale=37.5, centre=(140.0, 170.0))
    text = d.to_json()
    e = cv.Dialog.from_json(text)
    assert (e.width, e.height, e.scale, e.centre) == (300, 320, 37.5, (140.0, 170.0))
    assert [t.author for t in e.turns] == [t.author for t in d.turns]
    assert [t.params for t in e.turns] == [t.params for t in d.turns]
    for s, t in zip(d.strokes(), e.strokes()):
        np.testing.assert_array_equal(s, t)
    assert e.to_json() == text
    with pytest.raises(ValueError, match="not a saved dialog"):
        cv.Dialog.from_json('{"width": 3}')
    with pytest.raises(ValueError, match=r"lacks \['turns'\]"):
        cv.Dialog.from_dict({k: v for k, v in d.to_dict().items() if k != "turns"})
    bad = d.to_dict()
    bad["turns"] = bad["turns"][1:]
    with pytest.raises(ValueError, match="opens with a human turn"):
        cv.Dialog.from_dict(bad)
    bad = d.to_dict()
    bad["turns"][2]["strokes"][0][1] = [float("nan"), 3.0]
    with pytest.raises(ValueError, match=r"turns\[2\].strokes\[0\] has 1 point\(s\) with NaN"):
        cv.Dialog.from_dict(bad)


@pytest.mark.parametrize("strokes, match", [
    ([], "no strokes given"),
    (np.zeros((4, 2)), r"wrap a single stroke in a list: \[stroke\]"),
    ([np.zeros((0, 2))], r"strokes\[0\] has shape \(0, 2\).*k >= 1"),
    ([np.zeros((3, 3))], r"strokes\[0\] has shape \(3, 3\)"),
    ([np.ones((2, 2)), [[1.0, np.nan]]], r"strokes\[1\] has 1 point\(s\) with NaN.*np.isfinite"),
    ([[[10.0, 10.0], [500.0, 10.0], [-1.0, 3.0]]], r"2 point\(s\) outside the 400 x 300 canvas.*np.clip"),
    ([[["a", "b"]]], "not numeric"),
])
def test_bad_strokes_are_refused_with_the_fix(strokes, match):
    d = cv.Dialog(400, 300)
    with pytest.raises(ValueError, match=match):
        cv.human_turn(d, strokes)
    assert d.turns == []


def test_bad_completer_answers_are_refused():
    d = cv.Dialog()
    cv.human_turn(d, [square(20, 20, 100)])
    for answer, match in [(np.zeros((3, 2)), r"shape \(n, 3\)"), (np.full((2, 3), np.nan), "NaN"),
                          (np.zeros((100, 3)), "returned 100 rows for n_points = 5")]:
        with pytest.raises(ValueError, match=match):
            cv.machine_turn(d, lambda *a, ans=answer: ans, amount=5)
    assert len(d.turns) == 1


def test_an_empty_answer_is_a_machine_turn_that_passes():
    d = cv.Dialog()
    cv.human_turn(d, [square(20, 20, 100)])
    turn = cv.machine_turn(d, lambda *a: np.zeros((0, 3), np.float32))
    assert turn.strokes == [] and turn.params["n_returned"] == 0 and d.next_author == "human"
    cv.human_turn(d, [square(200, 200, 50)])
    e = cv.Dialog.from_json(d.to_json())
    assert [len(t.strokes) for t in e.turns] == [1, 0, 1]
    fig = cv.plot_history(e)
    assert fig.axes[1].get_title() == "2. machine (passed)"
    plt.close(fig)


def test_machine_strokes_are_cut_at_the_border_and_counted():
    d = cv.Dialog(100, 100)
    cv.human_turn(d, [[[50.0, 50.0], [60.0, 50.0]]])
    far = np.array([[0.0, 0.0, 0], [5.0, 0.0, 0], [0.0, 0.1, 1]], np.float32)  # 5 units = 250 px to the right
    turn = cv.machine_turn(d, lambda *a: far, amount=3)
    assert turn.params["n_clipped"] == 2
    assert len(turn.strokes) == 1  # the pen left the canvas: nothing is drawn along the border
    np.testing.assert_allclose(turn.strokes[0], [[60, 50], [100, 50]], atol=1e-4)


def test_cut_to_canvas_splits_a_stroke_that_leaves_and_comes_back():
    out_and_back = np.array([[10.0, 10.0], [10.0, -30.0], [50.0, -30.0], [50.0, 20.0], [60.0, 20.0]])
    pieces, n_outside = cv.cut_to_canvas([out_and_back, np.array([[5.0, 5.0]]), np.array([[-1.0, 5.0]])], 100, 100)
    assert n_outside == 3 and len(pieces) == 3
    np.testing.assert_allclose(pieces[0], [[10, 10], [10, 0]])
    np.testing.assert_allclose(pieces[1], [[50, 0], [50, 20], [60, 20]])
    np.testing.assert_allclose(pieces[2], [[5, 5]])  # a dot on the canvas stays; the one off it goes


def test_play_script_is_deterministic_and_uses_successive_seeds():
    script = [[square(30, 30, 60)], [square(200, 200, 60)], [square(100, 300, 40, k=5)]]
    d1 = cv.play_script(retrace, script, amount=0.5, seed=3)
    d2 = cv.play_script(retrace, script, amount=0.5, seed=3)
    assert d1.to_json() == d2.to_json() and len(d1.turns) == 6
    assert [t.params["seed"] for t in d1.turns[1::2]] == [3, 4, 5]
    d3 = cv.play_script(retrace, script, amount=[2, 0.5, 3], temperature=(0.1, 0.5, 1.0))
    assert [(t.params["n_points"], t.params["temperature"]) for t in d3.turns[1::2]] == [(2, 0.1), (10, 0.5),
                                                                                         (3, 1.0)]  # 0.5 x 20 drawn
    with pytest.raises(ValueError, match="temperature has 2 values for 3 scripted turns"):
        cv.play_script(retrace, script, temperature=[0.1, 0.2])


def test_plot_history_one_panel_per_turn_red_and_blue():
    d = cv.play_script(retrace, [[square(30, 30, 60)], [square(200, 200, 60)]])
    fig = cv.plot_history(d, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and len(fig.axes) == 6
    colors = [tuple(np.round(c.get_edgecolor()[0][:3], 3)) for c in visible[3].collections]
    red, blue = (tuple(np.round(matplotlib.colors.to_rgb(c), 3)) for c in (cv.HUMAN_COLOR, cv.MACHINE_COLOR))
    assert colors == [red, blue, red, blue]  # every turn so far, in order
    assert visible[1].get_title().startswith("2. machine") and visible[0].get_ylim() == (400.0, 0.0)
    plt.close(fig)
    fig, axes = plt.subplots(1, 4)
    assert cv.plot_history(d, axes=axes) is fig
    with pytest.raises(ValueError, match="2 axes for 4 turns"):
        cv.plot_history(d, axes=axes[:2])
    plt.close("all")
    with pytest.raises(ValueError, match="no turns to plot"):
        cv.plot_history(cv.Dialog())


def test_headless_import_does_not_need_ipycanvas():
    code = "import sys, localbook.art.canvas; assert 'ipycanvas' not in sys.modules and 'ipywidgets' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_turn_logic_is_pure():
    # the dialog's rules need neither the sketch model nor a plotting or widget library
    code = ("import sys, localbook.art.dialog; "
            "assert not {'localbook.art.sketch', 'matplotlib', 'ipycanvas'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_widget_callbacks_drive_the_plain_functions(monkeypatch):
    pytest.importorskip("ipycanvas")
    from ipycanvas.canvas import _CANVAS_MANAGER, COMMANDS

    sent = []  # the batches of drawing commands that would go to the browser
    monkeypatch.setattr(_CANVAS_MANAGER, "_send_custom", lambda command, buffers=[]: sent.append(command))
    w = cv.build_canvas_widget(retrace, width=200, height=150, amount=1.0, temperature=0.4, seed=10,
                               replay_delay=0.0)
    buttons = w.buttons
    assert [b.description for b in buttons] == ["machine's turn", "undo", "replay", "clear"]
    assert w.canvas.width == 200 and w.canvas.height == 150
    assert (w.canvas.layout.width, w.canvas.layout.height) == ("200px", "150px")  # not stretched to the page
    assert w.box.children[0] is w.canvas and all(b in w.box.children[1].children[0].children +
                                                   w.box.children[1].children[1].children for b in buttons)

    def draw(points):  # the messages the browser sends, through ipycanvas' own dispatch
        events = ["mouse_down"] + ["mouse_move"] * (len(points) - 1) + ["mouse_up"]
        for event, (x, y) in zip(events, list(points) + [points[-1]]):
            w.canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, [])

    draw([(10, 10), (50, 10), (50, 60)])
    w.mouse_down(100, 100), w.mouse_move(120, 110), w.mouse_up(400, 110)  # released outside: clipped
    assert len(w.pending) == 2 and w.dialog.turns == []
    np.testing.assert_allclose(w.pending[1], [[100, 100], [120, 110], [200, 110]])
    assert "2 stroke(s)" in w.status.value
    buttons[0].click()  # machine's turn: records the person's strokes, then the machine answers
    assert [t.author for t in w.dialog.turns] == ["human", "machine"] and w.pending == []
    assert w.dialog.turns[1].params["temperature"] == 0.4 and w.dialog.turns[1].params["seed"] == 11
    assert [c for c, _ in w.last_drawn] == [cv.HUMAN_COLOR] * 2 + [cv.MACHINE_COLOR]
    batch = sent[-1]  # one redraw = one batch (hold_canvas): white background, then the three polylines
    assert sum(c[0] == COMMANDS["strokeLines"] for c in batch if isinstance(c, list)) == 3
    buttons[0].click()  # twice: the error is shown, nothing changes
    assert "person's turn" in w.status.value and len(w.dialog.turns) == 2
    w.mouse_down(30, 30), w.mouse_up(30, 30)  # a click: a one-point stroke (a dot)
    buttons[1].click()  # undo removes the pending dot first, then the machine's turn
    assert w.pending == [] and len(w.dialog.turns) == 2
    buttons[1].click()
    assert len(w.dialog.turns) == 1 and "machine's turn" in w.status.value
    w.temperature_slider.value = 0.9
    buttons[0].click()
    assert w.dialog.turns[-1].params["temperature"] == 0.9
    buttons[2].click()  # replay ends on the full drawing
    assert "replay: turn 2 of 2" in w.status.value and len(w.last_drawn) == 3
    buttons[3].click()
    assert w.dialog.turns == [] and w.last_drawn == []
