"""Heaviside spike function with the multi-Gaussian surrogate gradient, and its multi-bit staircase.

Forward: ``H(x) = 1[x > 0]`` (strict).  Backward: the multi-Gaussian of
Yin et al. 2021 (arXiv 2103.12593) with the reference's defaults
``h = 0.15, sigma = 0.5, s = 6`` (unnormalized Gaussians, as the reference).
A multi-bit output (Ponghiran & Roy 2021) is the staircase ``sum_{n=1..L} H(x - n)``:
forward the count of unit levels ``x`` exceeds, backward the sum of the central
Gaussians ``exp(-(x - n)^2 / (2 sigma^2))`` of each level.  Not the sum of
multi-Gaussians: their negative side lobes are wide (``s sigma = 3``), so one
multi-Gaussian integrates to ``sqrt(2 pi) (1.15 * 0.5 - 2 * 0.15 * 3) < 0`` and the
sum turns negative between levels (at x = 2.5 with L = 3: -0.61), reversing the
gradient inside the staircase.  The central Gaussians tile it with a positive
slope, 1.13 to 1.27 on ``[1, L]`` (a smooth straight-through estimate).
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


class _Staircase(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, levels: int) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.levels = levels
        return torch.clamp(torch.ceil(x) - 1, 0, levels)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * sum(_gaussian(x, float(n), SIGMA) for n in range(1, ctx.levels + 1)), None


def spike_count(x: torch.Tensor, levels: int) -> torch.Tensor:
    """``#{n in 1..levels: x > n}`` (strict) with the staircase's surrogate gradient."""
    return _Staircase.apply(x, levels)
