"""The interactive portrait loop of the thesis (ch. 6.2.5) and its widget.

*Interactive series of portraits*: a photographic portrait is stylised with the painter's latest canvas as
the style; the output is projected as the next inspiration; the painter paints; a photograph of the new
canvas becomes the next style; and so on. :class:`PortraitLoop` holds the content photo, a style transfer
function ``f(style, content)`` and the history of (canvas, projection) pairs.

*Pixelizing portrait construction* (thesis fig. 6.15): the canvas is divided into ``grid x grid`` squares
painted one after the other; whenever a square is completed it becomes the style image of the next
projection. :func:`canvas_square` and :func:`partial_canvas` cut a canvas photograph accordingly.

The widget (:func:`build_portrait_widget`) is a thin shell: its callbacks call :func:`handle_upload` and
:meth:`PortraitLoop.step`, plain functions that the tests exercise without a browser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import torch

from localbook.art.images import from_bytes, to_png_bytes

__all__ = ["PortraitLoop", "canvas_square", "partial_canvas", "history_strip", "handle_upload",
           "build_portrait_widget"]


@dataclass
class PortraitLoop:
    """State of the portrait loop: ``content`` (1, 3, S, S), ``stylize(style, content)``, the history."""

    content: torch.Tensor
    stylize: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    canvases: list[torch.Tensor] = field(default_factory=list)
    projections: list[torch.Tensor] = field(default_factory=list)

    def step(self, canvas: torch.Tensor) -> torch.Tensor:
        """Use a photograph of the current canvas (1, 3, H, W) as the style; record and return the projection."""
        if canvas.ndim != 4 or canvas.shape[:2] != (1, 3):
            raise ValueError(f"the canvas must be one RGB image (1, 3, H, W), got shape {tuple(canvas.shape)}")
        canvas = canvas.to(self.content.device)
        projection = self.stylize(canvas, self.content)
        self.canvases.append(canvas)
        self.projections.append(projection)
        return projection

    def reset(self) -> None:
        """Forget the history."""
        self.canvases.clear()
        self.projections.clear()

    def __len__(self) -> int:
        return len(self.projections)


def _check_grid(canvas: torch.Tensor, grid: int, k: int) -> tuple[int, int]:
    if grid < 1 or not 0 <= k < grid * grid:
        raise ValueError(f"square index k={k} out of range for a {grid}x{grid} grid (0 <= k < {grid * grid})")
    h, w = canvas.shape[-2:]
    return h // grid, w // grid


def canvas_square(canvas: torch.Tensor, grid: int, k: int) -> torch.Tensor:
    """Square ``k`` (row-major) of a ``grid x grid`` division of ``canvas`` (1, 3, H, W)."""
    sh, sw = _check_grid(canvas, grid, k)
    r, c = divmod(k, grid)
    return canvas[..., r * sh:(r + 1) * sh, c * sw:(c + 1) * sw]


def partial_canvas(canvas: torch.Tensor, grid: int, k: int, blank: float = 1.0) -> torch.Tensor:
    """The canvas with squares ``0..k`` painted and the others left ``blank`` (white by default)."""
    sh, sw = _check_grid(canvas, grid, k)
    rows = torch.arange(canvas.shape[-2], device=canvas.device) // sh
    cols = torch.arange(canvas.shape[-1], device=canvas.device) // sw
    painted = (rows[:, None].clamp(max=grid - 1) * grid + cols[None, :].clamp(max=grid - 1)) <= k
    return torch.where(painted, canvas, torch.full_like(canvas, blank))


def history_strip(images: list[torch.Tensor], height: int = 96, gap: int = 2) -> torch.Tensor:
    """Images side by side (each resized to ``height``), separated by white gaps: (1, 3, height, W)."""
    from localbook.art.style import resize

    if not images:
        return torch.ones(1, 3, height, height)
    tiles = []
    for x in images:
        tiles += [resize(x, (height, max(1, round(x.shape[-1] * height / x.shape[-2])))),
                  torch.ones(1, 3, height, gap, device=x.device)]
    return torch.cat([t.to(images[0].device) for t in tiles[:-1]], dim=-1)


def handle_upload(loop: PortraitLoop, value, size: int | None = None) -> torch.Tensor:
    """Callback of the upload widget: decode the last uploaded file, run a loop step, return the projection.

    ``value`` is ``ipywidgets.FileUpload.value`` (ipywidgets 8: a tuple of dicts with ``"content"`` and
    ``"name"``); ``size`` defaults to the content's size.
    """
    if not value:
        raise ValueError("no file was uploaded; choose a photograph of the canvas (PNG or JPEG)")
    item = value[-1]
    content = item["content"] if isinstance(item, dict) else item.content
    canvas = from_bytes(bytes(content), size=size or max(loop.content.shape[-2:]), device=loop.content.device)
    return loop.step(canvas)


def build_portrait_widget(loop: PortraitLoop, height: int = 128):  # pragma: no cover - needs a front end
    """An ipywidgets box: upload a photograph of the canvas -> the next projection and the history strip.

    The projection is shown ``2 * height`` pixels square, the strip ``height`` pixels high (at most the page
    width). Children: ``HBox(upload, reset)``, the status ``Label``, the projection and strip ``Image``s.
    """
    import ipywidgets as w

    upload = w.FileUpload(accept="image/*", multiple=False, description="canvas photo")
    # Fixed pixel sizes: without them the front end stretches an image to the width of the page.
    projection = w.Image(format="png", layout=w.Layout(width=f"{2 * height}px", height=f"{2 * height}px",
                                                       object_fit="contain"))
    strip = w.Image(format="png", layout=w.Layout(height=f"{height}px", width="auto", max_width="100%",
                                                  object_fit="contain"))
    status = w.Label("Upload a photograph of the current canvas.")
    reset = w.Button(description="reset history")

    def on_upload(change):
        try:
            out = handle_upload(loop, change["new"])
        except ValueError as exc:
            status.value = str(exc)
            return
        projection.value = to_png_bytes(out)
        strip.value = to_png_bytes(history_strip(loop.projections, height))
        status.value = f"projection {len(loop)}: paint from it, then upload the new canvas"

    def on_reset(_):
        loop.reset()
        strip.value = b""
        status.value = "history cleared"

    upload.observe(on_upload, names="value")
    reset.on_click(on_reset)
    return w.VBox([w.HBox([upload, reset]), status, projection, strip])
