"""The portrait loop, its upload callback, the pixelizing canvas, and the predictivity scores."""
import datetime

import pytest
import torch

from localbook.art import images, portrait, predictivity


def png_bytes(x):
    return images.to_png_bytes(x)


def test_loop_step_and_history():
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    calls = []

    def f(style, c):
        calls.append((style, c))
        return 0.5 * (style + c)

    loop = portrait.PortraitLoop(content, f)
    canvas = torch.zeros(1, 3, 16, 16)
    out = loop.step(canvas)
    torch.testing.assert_close(out, 0.5 * content)
    assert len(loop) == 1 and loop.canvases[0] is canvas and calls[0][1] is content
    loop.step(out)
    assert len(loop) == 2
    strip = portrait.history_strip(loop.projections, height=8, gap=2)
    assert strip.shape == (1, 3, 8, 8 + 2 + 8)
    loop.reset()
    assert len(loop) == 0
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        loop.step(torch.zeros(3, 16, 16))


def test_upload_callback_decodes_ipywidgets_values():
    content = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    loop = portrait.PortraitLoop(content, lambda s, c: s)
    canvas = torch.zeros(1, 3, 40, 60)
    canvas[:, 0] = 1.0  # a red canvas photo, not square
    value = ({"name": "canvas.png", "type": "image/png", "size": 10, "content": memoryview(png_bytes(canvas))},)
    out = portrait.handle_upload(loop, value)
    assert out.shape == (1, 3, 24, 24)  # square crop resized to the content size
    assert float(out[0, 0].mean()) > 0.99 and float(out[0, 1:].max()) < 0.01
    with pytest.raises(ValueError, match="no file"):
        portrait.handle_upload(loop, ())
    with pytest.raises(ValueError, match="PNG or JPEG"):
        portrait.handle_upload(loop, ({"name": "x.txt", "content": b"not an image"},))


def test_widget_builds_and_its_callback_updates_the_strip():
    pytest.importorskip("ipywidgets")
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    loop = portrait.PortraitLoop(content, lambda s, c: c)
    box = portrait.build_portrait_widget(loop, height=16)
    upload, reset = box.children[0].children
    status, projection, strip = box.children[1:]
    value = ({"name": "c.png", "type": "image/png", "size": 1,
              "last_modified": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
              "content": memoryview(png_bytes(torch.ones(1, 3, 16, 16)))},)
    upload.set_trait("value", value)  # what the front end does on upload
    assert len(loop) == 1 and len(projection.value) > 0 and len(strip.value) > 0
    assert "projection 1" in status.value
    reset.click()
    assert len(loop) == 0


def test_pixelizing_canvas():
    canvas = torch.rand(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    sq = portrait.canvas_square(canvas, 3, 5)  # row 1, column 2
    torch.testing.assert_close(sq, canvas[..., 3:6, 6:9])
    part = portrait.partial_canvas(canvas, 3, 4)
    torch.testing.assert_close(part[..., :3, :], canvas[..., :3, :])  # first row painted
    torch.testing.assert_close(part[..., 3:6, :6], canvas[..., 3:6, :6])  # squares 3, 4
    assert float(part[..., 3:6, 6:].min()) == 1.0 and float(part[..., 6:, :].min()) == 1.0
    torch.testing.assert_close(portrait.partial_canvas(canvas, 3, 8), canvas)
    with pytest.raises(ValueError, match="out of range"):
        portrait.canvas_square(canvas, 3, 9)


def test_bundled_images_and_bytes_round_trip():
    x = images.load_bundled("astronaut", size=32)
    assert x.shape == (1, 3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert images.load_bundled("brick", size=16).shape == (1, 3, 16, 16)  # grey -> RGB
    y = images.from_bytes(png_bytes(x))
    assert float((x - y).abs().max()) <= 1 / 255 + 1e-6
    with pytest.raises(ValueError, match="unknown picture"):
        images.load_bundled("mona_lisa")


def _painterly(x):
    # a stand-in "painter": smooth the forms, warm and brighten the colours
    smooth = torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)
    return (smooth ** 0.7 * torch.tensor([1.0, 0.9, 0.7]).view(1, 3, 1, 1)).clamp(0, 1)


def test_predictivity_prefers_the_method_that_paints_like_the_painter(tmp_path):
    from localbook.art.vgg import load_vgg16

    for k, name in enumerate(["chelsea", "coffee"]):
        photo = images.load_bundled(name, size=32)
        (tmp_path / f"scene{k}_photo.png").write_bytes(png_bytes(photo))
        (tmp_path / f"scene{k}_painting.png").write_bytes(png_bytes(_painterly(photo)))
    methods = {"photo": lambda s, c: c, "painter": lambda s, c: _painterly(c), "style": lambda s, c: s.flip(-1)}
    rows = predictivity.evaluate_predictivity(tmp_path, methods, size=32, model=load_vgg16("hed"))
    assert len(rows) == 6 and {r["pair"] for r in rows} == {"scene0", "scene1"}
    for pair in ("scene0", "scene1"):
        r = {row["method"]: row for row in rows if row["pair"] == pair}
        assert r["painter"]["rmse"] < 0.02 and r["painter"]["ssim"] > 0.95
        for other in ("photo", "style"):
            assert r["painter"]["ssim"] > r[other]["ssim"]
            for score in ("rmse", "feature", "gram"):
                assert r["painter"][score] < 0.1 * r[other][score]


def test_find_pairs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        predictivity.find_pairs(tmp_path / "nope")
    (tmp_path / "a_photo.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="no NAME_photo"):
        predictivity.find_pairs(tmp_path)
    (tmp_path / "b_photo.jpg").write_bytes(b"x")
    (tmp_path / "b_painting.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="without a painting"):
        predictivity.find_pairs(tmp_path)
