"""Lava's ``LIF`` with a saturation counter, for the fixed-point runs of both families.

:class:`CountingLIF` is Lava's ``LIF`` Process plus a ``saturated`` Var; its
model :class:`PyCountingLifModelBitAcc` is Lava's own ``PyLifModelBitAcc``,
which still does all the arithmetic, and counts, next to it, the neuron updates
whose ``u`` wrapped or whose ``v`` clipped: it computes their values before
the wrap and the clip and compares them with Lava's result.  That is the
``overflowed`` mask of :func:`s5rf_deploy.fixed.arithmetic.lif_update`, so the
counts equal the steppers'.  A run config selects the model per process with
:func:`counting_models`; there is no float model.  Importing this module imports Lava.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.lif.process import LIF

from s5rf_deploy.fixed import arithmetic as fx


class CountingLIF(LIF):
    """Lava's ``LIF`` whose ``saturated`` (shape (1,)) counts wrapped or clipped neuron updates; with
    ``count_spikes`` it counts spikes too (an accumulator whose threshold is the top of its range fires
    only when its sum got there)."""

    def __init__(self, *, count_spikes: bool = False, **kwargs) -> None:
        super().__init__(count_spikes=count_spikes, **kwargs)
        self.saturated = Var(shape=(1,), init=0)


class PyCountingLifModelBitAcc(PyLifModelBitAcc):
    """``PyLifModelBitAcc`` that also counts into ``saturated`` (a :class:`CountingLIF`'s model)."""

    saturated: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _decayed(self, x: np.ndarray, decay: int) -> np.ndarray:
        """``x (4096 - decay) >> 12`` rounded toward zero, in int64, as Lava decays ``u`` and ``v``."""
        return fx.shift_right(x.astype(np.int64) * (self.decay_unity - decay), self.decay_shift, "toward_zero")

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        u = self._decayed(self.u, self.du + self.ds_offset) + np.left_shift(
            np.asarray(activation_in, np.int64), self.act_shift)
        v = self._decayed(self.v, self.dv + self.dm_offset)
        super().subthr_dynamics(activation_in)
        self.saturated[0] += np.count_nonzero((self.u != u) | (self.v != v + self.u + self.effective_bias))

    def spiking_activation(self) -> np.ndarray:
        spikes = super().spiking_activation()
        if self.proc_params["count_spikes"]:
            self.saturated[0] += np.count_nonzero(spikes)
        return spikes


def counting_models(lifs: Iterable[CountingLIF]) -> dict:
    """``exception_proc_model_map`` entries that give each of ``lifs`` :class:`PyCountingLifModelBitAcc`.

    Keyed by Process instance, which Lava 0.10.0's compiler looks up before it searches for models: a
    search for :class:`CountingLIF`'s models would execute every module in this folder again.
    """
    return dict.fromkeys(lifs, PyCountingLifModelBitAcc)
