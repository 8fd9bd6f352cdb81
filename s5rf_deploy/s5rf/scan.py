"""Parallel prefix scan of the diagonal linear recurrence ``z[t] = a * z[t-1] + c[t]``.

Hillis-Steele doubling: ceil(log2 T) vectorized steps instead of a Python loop
over time, the same kind of tree evaluation as JAX's ``associative_scan`` in the
reference.  Differentiable with autograd, for real or complex tensors.
"""

from __future__ import annotations

import torch


def linear_scan(a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """All states of ``z[t] = a * z[t-1] + c[t]`` with ``z[-1] = 0``.

    ``a``: coefficients broadcast against the last dimension of ``c``;
    ``c``: ``(..., T, P)`` inputs.  Returns a tensor shaped like ``c``.
    """
    steps = c.shape[-2]
    z = c
    power = a
    shift = 1
    while shift < steps:
        head = z[..., :shift, :]
        tail = z[..., shift:, :] + power * z[..., :-shift, :]
        z = torch.cat([head, tail], dim=-2)
        power = power * power
        shift *= 2
    return z
