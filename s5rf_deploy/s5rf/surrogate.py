"""Heaviside spike function with the multi-Gaussian surrogate gradient.

Forward: ``H(x) = 1[x > 0]`` (strict).  Backward: the multi-Gaussian of
Yin et al. 2021 (arXiv 2103.12593) with the reference's defaults
``h = 0.15, sigma = 0.5, s = 6``.
"""

from __future__ import annotations

import torch

H_SCALE = 0.15
SIGMA = 0.5
WIDTH_RATIO = 6.0


def _gaussian(x: torch.Tensor, mu: float, std: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / std) ** 2)


def multi_gaussian_grad(x: torch.Tensor) -> torch.Tensor:
    """d spike / d x used in the backward pass."""
    wide = SIGMA * WIDTH_RATIO
    return (
        (1 + H_SCALE) * _gaussian(x, 0.0, SIGMA)
        - H_SCALE * _gaussian(x, SIGMA, wide)
        - H_SCALE * _gaussian(x, -SIGMA, wide)
    )


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * multi_gaussian_grad(x)


def spike(x: torch.Tensor) -> torch.Tensor:
    """``1[x > 0]`` with the multi-Gaussian surrogate gradient."""
    return _Spike.apply(x)
