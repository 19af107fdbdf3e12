"""The sketch RNN's network and losses (Ha and Eck 2018, eq. 2-8): :class:`SketchRNN`, :class:`SketchConfig`,
:func:`mixture_nll`, :func:`pen_nll`."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


# ----------------------------------------------------------------------------------------------- losses
def _split_params(params: torch.Tensor, n_mixtures: int):
    """Split the decoder output (..., 6M + 3) into mixture and pen parameters (log-space where relevant)."""
    M = n_mixtures
    logit_pi, mu_x, mu_y, log_sx, log_sy, pre_rho = torch.split(params[..., :6 * M], M, dim=-1)
    pen_logits = params[..., 6 * M:]
    rho = torch.tanh(pre_rho) * (1 - 1e-5)  # keep |rho| < 1 for the log(1 - rho^2) term
    return logit_pi, mu_x, mu_y, log_sx, log_sy, rho, pen_logits


def mixture_nll(logit_pi: torch.Tensor, mu_x: torch.Tensor, mu_y: torch.Tensor, log_sx: torch.Tensor,
                log_sy: torch.Tensor, rho: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """-log p(dx, dy) under a mixture of M bivariate Gaussians (Ha and Eck eq. 3 and 5; Bishop's MDN).

    Shapes: mixture parameters (..., M) (``logit_pi`` unnormalised log weights, ``log_s*`` log standard
    deviations, ``rho`` correlations in (-1, 1)); ``dx``, ``dy`` (...). Returns (...) in nats, computed in
    log space with ``logsumexp`` (no underflow for points far from every component).
    """
    zx = (dx.unsqueeze(-1) - mu_x) * torch.exp(-log_sx)
    zy = (dy.unsqueeze(-1) - mu_y) * torch.exp(-log_sy)
    one_m_rho2 = 1 - rho ** 2
    log_n = (-math.log(2 * math.pi) - log_sx - log_sy - 0.5 * torch.log(one_m_rho2)
             - (zx ** 2 + zy ** 2 - 2 * rho * zx * zy) / (2 * one_m_rho2))
    return -torch.logsumexp(torch.log_softmax(logit_pi, dim=-1) + log_n, dim=-1)


def pen_nll(pen_logits: torch.Tensor, pen_onehot: torch.Tensor) -> torch.Tensor:
    """Categorical cross entropy of the 3 pen states (Ha and Eck eq. 8, L_p); shapes (..., 3) -> (...)."""
    return -(torch.log_softmax(pen_logits, dim=-1) * pen_onehot).sum(-1)


# ----------------------------------------------------------------------------------------------- model
@dataclass
class SketchConfig:
    """Hyper-parameters of :class:`SketchRNN` (Ha and Eck's names: N_z, M, w_KL, KL_min, eta_min, R)."""

    enc_hidden: int = 128
    dec_hidden: int = 256
    z_dim: int = 32
    n_mixtures: int = 20
    max_len: int = 100
    dropout: float = 0.1       # on the decoder outputs (Ha and Eck use recurrent dropout 0.1)
    kl_weight: float = 0.5     # w_KL
    kl_min: float = 0.2        # KL floor, per latent dimension (nats)
    eta_min: float = 0.01
    kl_decay: float = 0.9995   # R: eta_step = 1 - (1 - eta_min) R^step (Ha and Eck: 0.99995 for 10^6 steps)


class SketchRNN(nn.Module):
    """Sketch-RNN (Ha and Eck, 2018): BiLSTM encoder -> z -> LSTM decoder with a mixture-density output.

    ``scale`` (a buffer): KanjiVG units per normalised unit (the training set's offset std).
    """

    def __init__(self, config: SketchConfig | None = None, scale: float = 1.0):
        super().__init__()
        self.config = c = config or SketchConfig()
        self.encoder = nn.LSTM(5, c.enc_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * c.enc_hidden, c.z_dim)
        self.to_logvar = nn.Linear(2 * c.enc_hidden, c.z_dim)
        self.init_state = nn.Linear(c.z_dim, 2 * c.dec_hidden)
        self.decoder = nn.LSTM(5 + c.z_dim, c.dec_hidden, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(c.dec_hidden, 6 * c.n_mixtures + 3)
        self.register_buffer("scale", torch.tensor(float(scale)))

    @property
    def device(self) -> torch.device:
        return self.output.weight.device

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu, log sigma^2 of q(z | S) (each (B, z_dim)) from stroke-5 points x (B, T, 5) without S0."""
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        h = torch.cat([h[0], h[1]], dim=-1)  # forward and backward final states (Ha and Eck eq. 1)
        return self.to_mu(h), self.to_logvar(h)

    def initial_state(self, z: torch.Tensor):
        """Decoder (h0, c0), each (1, B, dec_hidden), = tanh(W z + b) (Ha and Eck eq. 4)."""
        h0, c0 = torch.tanh(self.init_state(z)).chunk(2, dim=-1)
        return h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()

    def decode(self, x_in: torch.Tensor, z: torch.Tensor, state=None):
        """Decoder outputs (B, T, 6M + 3) for inputs x_in (B, T, 5) and z (B, z_dim); returns (params, state)."""
        if state is None:
            state = self.initial_state(z)
        zz = z.unsqueeze(1).expand(-1, x_in.shape[1], -1)
        out, state = self.decoder(torch.cat([x_in, zz], dim=-1), state)
        return self.output(self.dropout(out)), state

    def losses(self, x: torch.Tensor, lengths: torch.Tensor, sample_z: bool = True) -> dict[str, torch.Tensor]:
        """Ha and Eck's losses for a stroke-5 batch x (B, 1 + N_max, 5) that starts with S0.

        Returns ``L_s`` (offset NLL summed over each sequence's points, divided by B N_max), ``L_p`` (pen NLL
        over all N_max rows, padding included, divided by B N_max), ``L_R = L_s + L_p``, ``KL`` (mean over
        the batch and the latent dimensions), and ``nll_per_point`` (L_s + pen NLL over the real points,
        divided by the number of real points: a length-independent figure).
        """
        target = x[:, 1:]
        mu, logvar = self.encode(target, lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample_z else mu
        params, _ = self.decode(x[:, :-1], z)
        lp, mx, my, lsx, lsy, rho, pen = _split_params(params, self.config.n_mixtures)
        T = target.shape[1]
        mask = (torch.arange(T, device=x.device)[None] < lengths[:, None]).float()
        ls_each = mixture_nll(lp, mx, my, lsx, lsy, rho, target[..., 0], target[..., 1]) * mask
        lpen_each = pen_nll(pen, target[..., 2:])
        denom = x.shape[0] * T
        L_s = ls_each.sum() / denom
        L_p = lpen_each.sum() / denom
        kl = -0.5 * torch.mean(1 + logvar - mu ** 2 - logvar.exp())
        nll_pp = (ls_each.sum() + (lpen_each * mask).sum()) / mask.sum()
        return {"L_s": L_s, "L_p": L_p, "L_R": L_s + L_p, "KL": kl, "nll_per_point": nll_pp}


