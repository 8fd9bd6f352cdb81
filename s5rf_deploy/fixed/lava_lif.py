"""Lava's ``LIF`` with a saturation counter and a spike rule, for the runs of both families.

:class:`CountingLIF` is Lava's ``LIF`` Process plus a ``saturated`` Var, the
fields of a :class:`~s5rf_deploy.fixed.arithmetic.SpikeRule` (how it fires and
resets), a ``last`` Var (the previous step's spikes, which a ``subtract_next``
or ``zero_next`` reset needs) and ports ``u_out`` and ``v_out`` that send ``u``
and ``v`` after every step (connected only by runs that record states).

With Lava's own rule, its fixed-point model :class:`PyCountingLifModelBitAcc`
leaves the arithmetic to Lava's ``PyLifModelBitAcc`` and counts, next to it,
the neuron updates whose ``u`` wrapped or whose ``v`` clipped (it computes their
values before the wrap and the clip and compares them with Lava's result: the
``overflowed`` mask of :func:`s5rf_deploy.fixed.arithmetic.lif_update`, so the
counts equal the steppers').  With any other rule (subtract resets,
``v >= threshold``, multi-spike counts as graded spikes), it runs
:func:`~s5rf_deploy.fixed.arithmetic.lif_step`, the stepper's arithmetic.  Its
float model :class:`PyCountingLifModelFloat` applies the rule in float.  Neither
supports a bias (the runners bring constants in through bias lines).  A run
config selects the models per process with :func:`counting_models`.  Importing
this module imports Lava.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.variable import Var
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat
from lava.proc.lif.process import LIF

from s5rf_deploy.fixed import arithmetic as fx


class CountingLIF(LIF):
    """Lava's ``LIF`` whose ``saturated`` (shape (1,)) counts wrapped or clipped neuron updates; with
    ``count_spikes`` it counts spikes too (an accumulator whose threshold is the top of its range fires
    only when its sum got there).  ``rule`` says how it fires and resets."""

    def __init__(self, *, count_spikes: bool = False, rule: fx.SpikeRule = fx.LAVA_RULE, **kwargs) -> None:
        super().__init__(count_spikes=count_spikes, reset=rule.reset, inclusive=rule.inclusive,
                         max_spikes=rule.max_spikes, **kwargs)
        self.saturated = Var(shape=(1,), init=0)
        self.last = Var(shape=kwargs["shape"], init=0)
        self.u_out = OutPort(shape=kwargs["shape"])  # u and v after each step, for runs that record states
        self.v_out = OutPort(shape=kwargs["shape"])


class _RuleAndStates:
    """What both models add to Lava's: the process's spike rule (``self.rule``), and ``u`` and ``v`` sent after
    every step."""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.rule = fx.SpikeRule(proc_params["reset"], proc_params["inclusive"], proc_params["max_spikes"])

    def run_spk(self) -> None:
        super().run_spk()
        self.u_out.send(self.u)
        self.v_out.send(self.v)


class PyCountingLifModelBitAcc(_RuleAndStates, PyLifModelBitAcc):
    """``PyLifModelBitAcc`` that also counts into ``saturated`` and follows the process's spike rule (a
    :class:`CountingLIF`'s fixed-point model)."""

    saturated: np.ndarray = LavaPyType(np.ndarray, np.int64)
    last: np.ndarray = LavaPyType(np.ndarray, np.int64)
    u_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def _decayed(self, x: np.ndarray, decay: int) -> np.ndarray:
        """``x (4096 - decay) >> 12`` rounded toward zero, in int64, as Lava decays ``u`` and ``v``."""
        return fx.shift_right(x.astype(np.int64) * (self.decay_unity - decay), self.decay_shift, "toward_zero")

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        if not self.rule.is_lava:  # the whole step, spikes included (spiking_activation sends them)
            u, v, spikes, overflowed = fx.lif_step(self.u, self.v, activation_in, self.du, self.dv, self.vth,
                                                   self.rule, self.last)
            self.u[:], self.v[:], self.last[:] = u, v, spikes
            self.saturated[0] += np.count_nonzero(overflowed)
            return
        u = self._decayed(self.u, self.du + self.ds_offset) + np.left_shift(
            np.asarray(activation_in, np.int64), self.act_shift)
        v = self._decayed(self.v, self.dv + self.dm_offset)
        super().subthr_dynamics(activation_in)
        self.saturated[0] += np.count_nonzero((self.u != u) | (self.v != v + self.u + self.effective_bias))

    def spiking_activation(self) -> np.ndarray:
        if self.rule.is_lava:
            spikes = super().spiking_activation()
        else:
            spikes = self.last.copy() if self.rule.max_spikes > 1 else self.last.astype(bool)
        if self.proc_params["count_spikes"]:
            self.saturated[0] += np.count_nonzero(spikes)
        return spikes

    def reset_voltage(self, spike_vector: np.ndarray) -> None:
        if self.rule.is_lava:
            super().reset_voltage(spike_vector)  # other rules reset in subthr_dynamics


class PyCountingLifModelFloat(_RuleAndStates, PyLifModelFloat):
    """Lava's float ``LIF`` model following the process's spike rule (a :class:`CountingLIF`'s float model;
    ``saturated`` stays 0)."""

    saturated: np.ndarray = LavaPyType(np.ndarray, float)
    last: np.ndarray = LavaPyType(np.ndarray, float)
    u_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        super().subthr_dynamics(activation_in)
        self.v[:] = fx.carried_reset(self.v, self.last, self.vth, self.rule)

    def spiking_activation(self) -> np.ndarray:
        counts, v = fx.fire(self.v, self.vth, self.rule)
        self.v[:], self.last[:] = v, counts
        return counts

    def reset_voltage(self, spike_vector: np.ndarray) -> None:
        """Done by :meth:`spiking_activation`."""


def counting_models(lifs: Iterable[CountingLIF], fixed: bool = True) -> dict:
    """``exception_proc_model_map`` entries that give each of ``lifs`` :class:`PyCountingLifModelBitAcc`
    (``fixed``) or :class:`PyCountingLifModelFloat`.

    Keyed by Process instance, which Lava 0.10.0's compiler looks up before it searches for models: a
    search for :class:`CountingLIF`'s models would execute every module in this folder again.
    """
    return dict.fromkeys(lifs, PyCountingLifModelBitAcc if fixed else PyCountingLifModelFloat)
