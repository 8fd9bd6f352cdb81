"""Discretization rules of an RF layer (the reference's dirac / zoh / bilinear).

Each rule maps continuous eigenvalues ``lam`` (complex) and per-neuron steps
``step`` (real, > 0) to the discrete pole ``lambda_bar`` and the per-neuron
input gain ``gain``; the layer's discrete input matrix is ``diag(gain) @ B``.
"""

from __future__ import annotations

import torch

from s5rf_deploy.errors import ConfigError


def discretize(rule: str, lam: torch.Tensor, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(lambda_bar, gain)``, both complex and shaped like ``lam``."""
    step = step.to(lam.dtype)
    if rule == "dirac":
        return torch.exp(lam * step), step
    if rule == "zoh":
        lambda_bar = torch.exp(lam * step)
        return lambda_bar, (lambda_bar - 1) / lam
    if rule == "bilinear":
        inv = 1 / (1 - step / 2 * lam)
        return inv * (1 + step / 2 * lam), inv * step
    raise ConfigError(f"unknown discretization {rule!r}")
