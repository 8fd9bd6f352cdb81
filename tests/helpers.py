"""Test helpers: an independent per-step float64 implementation of S5-RF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "tests" / "data"  # public fixtures: see tests/data/README.md


def loop_forward(model: S5RFModel, u: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Per-time-step numpy float64 evaluation written from DESIGN.md section 1.

    Returns (logprobs (N, C), spikes per layer (N, T, P), pre-spike x per layer).
    """
    cfg = model.config
    x = u.astype(np.float64)
    n, steps, _ = x.shape
    all_spikes, all_pre = [], []
    for i, layer in enumerate(model.layers):
        b = layer.B.detach().double().numpy()
        bc = b[..., 0] + 1j * b[..., 1]
        lam = -np.exp(layer.log_neg_real.detach().double().numpy()) + 1j * layer.imag.detach().double().numpy()
        delta = np.exp(layer.log_step.detach().double().numpy())
        rule = layer.discretization
        if rule == "dirac":
            lb, gain = np.exp(lam * delta), delta + 0j
        elif rule == "zoh":
            lb = np.exp(lam * delta)
            gain = (lb - 1) / lam
        else:
            lb = (1 + delta / 2 * lam) / (1 - delta / 2 * lam)
            gain = delta / (1 - delta / 2 * lam)
        v = None if layer.V is None else layer.V.numpy().astype(np.complex128)
        thr = float(layer.threshold)
        z = np.zeros((n, bc.shape[0]), complex)
        s_out = np.zeros((n, steps, bc.shape[0]))
        pre_out = np.zeros((n, steps, bc.shape[0]), complex)
        for t in range(steps):
            c = x[:, t] @ bc.T
            if not layer.keep_imag:
                c = c.real + 0j
            z = lb * z + gain * c
            pre = z if v is None else z @ v.T
            drive = pre.real if layer.spike_rule == "cartesian" else np.abs(pre)
            s_out[:, t] = drive > thr
            pre_out[:, t] = pre
        all_spikes.append(s_out)
        all_pre.append(pre_out)
        x = s_out + x if cfg.has_skip(i) else s_out
    w = model.readout_weight.detach().double().numpy()
    beta = torch.sigmoid(model.tau.detach().double()).numpy()
    y = np.zeros((n, w.shape[0]))
    acc = np.zeros_like(y)
    for t in range(steps):
        y = beta * y + x[:, t] @ w.T
        acc += y
    logits = acc / steps
    logits = logits - logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True)), all_spikes, all_pre


VARIANTS = {
    "dirac_keepimag": dict(discretization="dirac", keep_imag=True, spike="cartesian"),
    "dirac_real": dict(discretization="dirac", keep_imag=False, spike="cartesian"),
    "zoh_vmix": dict(discretization="zoh", keep_imag=True, spike="cartesian"),
    "zoh_real_polar": dict(discretization="zoh", keep_imag=False, spike="polar"),
    "bilinear_polar": dict(discretization="bilinear", keep_imag=True, spike="polar"),
    "bilinear_real": dict(discretization="bilinear", keep_imag=False, spike="cartesian"),
}


def make_model(variant: str, layers: int = 2, neurons: int = 12, blocks: int = 3, inputs: int = 5,
               classes: int = 4, seed: int = 0, gain: float | None = None) -> S5RFModel:
    """A random model of a named variant whose layers fire at a useful rate."""
    cfg = ModelConfig(input_dim=inputs, output_dim=classes, num_neurons=(neurons,) * layers,
                      num_blocks=(blocks,) * layers, eta_min=0.05, eta_max=0.5, **VARIANTS[variant])
    model = S5RFModel(cfg, seed=seed)
    gain = gain if gain is not None else (3.0 if cfg.spike == "polar" else 6.0)
    with torch.no_grad():
        for layer in model.layers:
            layer.B.mul_(gain)
    return model.eval()


def random_spikes(n: int, steps: int, width: int, rate: float = 0.2, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, steps, width)) < rate).astype(np.float32)

