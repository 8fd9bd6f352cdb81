"""How a NIR graph's neuron nodes compute, step by step: the exact ODE reading (``nir``, docs/nir.md) or what
the framework that exported the graph computes for it (docs/interop.md).

A framework reading turns each neuron node into a :class:`Reading`, one discrete recurrence in the form of
Lava's CUBA LIF::

    u[k] = beta u[k-1] + gain x[k - lag]          (beta = 0: a neuron without a synaptic current)
    v[k] = alpha v[k-1] + u[k] + drive            (then fire and reset by ``rule`` at ``threshold``)

where ``x`` is the node's summed input at step ``k`` (a spike counts 1, an Affine bias is part of it).
:func:`s5rf_deploy.graphs.layout.lower` makes populations of it, so the float simulator, the stepper and Lava
all follow the same reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nir
import numpy as np

from s5rf_deploy.fixed.arithmetic import LAVA_RULE, SpikeRule

NIR = "nir"


@dataclass(frozen=True)
class Reading:
    """The discrete form of one neuron node (float64, one value per neuron)."""

    alpha: np.ndarray  # retention of v
    beta: np.ndarray  # retention of u (zeros: u is this step's input only)
    gain: np.ndarray  # u per unit of the node's input
    drive: np.ndarray  # constant added to v every step
    threshold: np.ndarray | None  # None: a voltage output (LI, I, CubaLI)
    v_reset: np.ndarray  # where a zero reset puts v
    rule: SpikeRule = LAVA_RULE
    lag: int = 0  # steps before an input reaches u (1: v sees a synaptic jump one step later)

    @property
    def two_state(self) -> bool:
        return bool(np.any(self.beta))


# (node name, node, neurons, dt, whether the node is in a cycle of the graph) -> its reading
Reader = Callable[[str, nir.NIRNode, int, float, bool], Reading]


@dataclass(frozen=True)
class Semantics:
    """One way of reading a graph: ``read`` gives each neuron node's :class:`Reading` (None: the exact ODE)."""

    name: str
    summary: str  # one line: what is assumed
    read: Reader | None = None
    dt: float | None = None  # the framework's step, for files without dt

    @property
    def exact(self) -> bool:
        return self.read is None
