"""The S5-RF classifier in PyTorch (float semantics of the reference implementation).

Per RF layer: complex current ``B u`` (real part only unless ``keep_imag``),
scaled per neuron by the discretization gain, a diagonal complex recurrence
evaluated with a parallel scan, optional output mixing ``x = V z``, spikes
``H(Re x - 1)`` (cartesian) or ``H(|x| - 1)`` (polar) (multi-bit outputs: the
count of thresholds exceeded, up to ``2^spike_bits - 1``), skip connections on the
middle layers.  Readout: ``Re(B_out) s`` into leaky integrators, mean over
time, log-softmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from s5rf_deploy.s5rf.config import ModelConfig, spike_levels
from s5rf_deploy.s5rf.discretization import discretize
from s5rf_deploy.s5rf.hippo import init_eigensystem
from s5rf_deploy.s5rf.scan import linear_scan
from s5rf_deploy.s5rf.surrogate import spike, spike_count

READOUT_INIT_LEAK = 0.8


@dataclass
class ForwardResult:
    """Outputs of a forward pass over a batch of sequences."""

    logprobs: torch.Tensor  # (N, C)
    readout: torch.Tensor  # (N, T, C) leaky-integrator states y[t]
    spikes: list[torch.Tensor]  # per RF layer, (N, T, P_i)
    states: list[torch.Tensor] | None = None  # per RF layer, complex x[t] (N, T, P_i)

    @property
    def predictions(self) -> torch.Tensor:
        return self.logprobs.argmax(dim=-1)


def _trunc_lecun_normal(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> torch.Tensor:
    """LeCun-normal truncated at two standard deviations (JAX's ``lecun_normal``)."""
    std = 1.0 / math.sqrt(fan_in) / 0.87962566103423978
    out = torch.empty(shape)
    return nn.init.trunc_normal_(out, std=std, a=-2 * std, b=2 * std, generator=gen)


class RFLayerModule(nn.Module):
    """One population of resonate-and-fire neurons with its input weights."""

    def __init__(
        self,
        in_dim: int,
        neurons: int,
        blocks: int,
        discretization: str,
        keep_imag: bool,
        spike_rule: str,
        spike_bits: int,
        mix_outputs: bool,
        eta: tuple[float, float],
        gen: torch.Generator,
    ) -> None:
        super().__init__()
        lam, v = init_eigensystem(neurons, blocks)
        draw = torch.complex(
            _trunc_lecun_normal((neurons, in_dim), in_dim, gen),
            _trunc_lecun_normal((neurons, in_dim), in_dim, gen),
        )
        b = torch.from_numpy(v.conj().T.astype(np.complex64)) @ draw
        self.B = nn.Parameter(torch.stack([b.real, b.imag], dim=-1))  # (P, H, 2)
        self.log_neg_real = nn.Parameter(torch.from_numpy(np.log(-lam.real)).float())
        self.imag = nn.Parameter(torch.from_numpy(lam.imag.copy()).float())
        lo, hi = math.log(eta[0]), math.log(eta[1])
        self.log_step = nn.Parameter(torch.rand(neurons, generator=gen) * (hi - lo) + lo)
        self.register_buffer("V", torch.from_numpy(v) if mix_outputs else None)
        self.register_buffer("threshold", torch.tensor(1.0))
        self.discretization = discretization
        self.keep_imag = keep_imag
        self.spike_rule = spike_rule
        self.spike_bits = spike_bits

    @property
    def num_neurons(self) -> int:
        return self.B.shape[0]

    def eigenvalues(self) -> torch.Tensor:
        """Continuous eigenvalues ``lambda = -exp(a) + i omega``."""
        return torch.complex(-torch.exp(self.log_neg_real), self.imag)

    def discretized(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lambda_bar, gain)`` of this layer's discretization rule."""
        return discretize(self.discretization, self.eigenvalues(), torch.exp(self.log_step))

    def current(self, u: torch.Tensor) -> torch.Tensor:
        """Input current ``B u`` (complex; imaginary part zero unless keep_imag)."""
        re = u @ self.B[..., 0].T
        im = u @ self.B[..., 1].T if self.keep_imag else torch.zeros_like(re)
        return torch.complex(re, im)

    def dynamics(self, current: torch.Tensor) -> torch.Tensor:
        """Pre-spike values ``x[t]`` (complex, after V mixing) for a current."""
        lambda_bar, gain = self.discretized()
        z = linear_scan(lambda_bar, current * gain)
        if self.V is not None:
            z = z @ self.V.to(z.dtype).T
        return z

    @property
    def levels(self) -> int:
        """The largest output: 1 for binary spikes, ``2^spike_bits - 1`` for multi-bit outputs."""
        return spike_levels(self.spike_bits)

    def fire(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes (or multi-bit counts) of pre-spike values ``x`` under this layer's spike rule."""
        drive = x.real if self.spike_rule == "cartesian" else x.abs()
        if self.levels == 1:
            return spike(drive - self.threshold)
        return spike_count(drive / self.threshold, self.levels)


class S5RFModel(nn.Module):
    """S5-RF classifier: RF layers, skip connections, leaky-integrator readout."""

    def __init__(self, config: ModelConfig, seed: int = 0) -> None:
        super().__init__()
        self.config = config
        gen = torch.Generator().manual_seed(seed)
        self.layers = nn.ModuleList(
            RFLayerModule(
                in_dim=config.layer_input_dim(i),
                neurons=config.num_neurons[i],
                blocks=config.num_blocks[i],
                discretization=config.layer_discretization(i),
                keep_imag=config.keep_imag,
                spike_rule=config.spike,
                spike_bits=config.spike_bits,
                mix_outputs=(i == 0 and config.discretization == "zoh"),
                eta=(config.eta_min, config.eta_max),
                gen=gen,
            )
            for i in range(config.num_layers)
        )
        last = config.num_neurons[-1]
        self.readout_weight = nn.Parameter(
            _trunc_lecun_normal((config.output_dim, last), last, gen)
        )
        self.tau = nn.Parameter(
            torch.full((config.output_dim,), math.log(READOUT_INIT_LEAK / (1 - READOUT_INIT_LEAK)))
        )
        self.dropout = nn.Dropout(config.dropout)

    def readout_leak(self) -> torch.Tensor:
        """Per-class leak factor ``beta = sigmoid(tau)`` of the readout integrators."""
        return torch.sigmoid(self.tau)

    def forward(self, u: torch.Tensor, record_states: bool = False, start: int = 0) -> ForwardResult:
        """Run a batch ``u`` of shape ``(N, T, H)`` through the network; with ``start`` = k, ``u`` is the input
        of layer k (for k = the number of layers: of the readout) and only the rest of the network runs."""
        cfg = self.config
        last = cfg.num_layers - 1
        x = u.to(self.readout_weight.dtype)
        spikes: list[torch.Tensor] = []
        states: list[torch.Tensor] = []
        for i, layer in list(enumerate(self.layers))[start:]:
            current = layer.current(x)
            if cfg.dense_dropout and 0 < i < last:
                current = self.dropout(current.real) + 1j * self.dropout(current.imag)
            pre = layer.dynamics(current)
            s = layer.fire(pre)
            spikes.append(s)
            if record_states:
                states.append(pre)
            out = s if cfg.dense_dropout else self.dropout(s)
            x = out + x if cfg.has_skip(i) else out
        y = linear_scan(self.readout_leak(), x @ self.readout_weight.T)
        logprobs = torch.log_softmax(y.mean(dim=-2), dim=-1)
        return ForwardResult(logprobs, y, spikes, states if record_states else None)
