"""The S5-RF compartment as a Lava Process with float and fixed-point ProcessModels.

Lava's built-in ``lava.proc.rf.RF`` has one decay per population and spikes on
a phase crossing, so it cannot express S5-RF.  This Process holds per-neuron
rotation coefficients, a threshold, and one input port of ``2P`` values
(real inputs, then imaginary inputs, so one ``Dense`` feeds both); it sends
spikes (cartesian or polar rule) or, for V mixing, its state as graded spikes.
The fixed-point model calls :mod:`s5rf_deploy.fixed.arithmetic`, the same code as
the stepper, and counts its saturated updates in ``saturated`` as the stepper
does.  Importing this module imports Lava (via ``s5rf_deploy``'s compatibility
hook).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from s5rf_deploy.fixed import arithmetic as fx


class RFCompartment(AbstractProcess):
    """A population of S5-RF compartments.

    ``decay_re``/``decay_im``: the pole (float) or its integer coefficients;
    ``spike``: "cartesian", "polar" or "graded"; ``levels`` > 1: multi-bit outputs, the count of thresholds
    exceeded (up to ``levels``) sent as graded spikes on ``s_out``; ``record_steps`` > 0 keeps the
    last that many states and spikes in ``trace_re``/``trace_im``/``trace_s``.
    ``delays`` > 0 adds the port ``s_delayed`` (``delays * P`` values): block j
    holds the spikes of j + 1 steps ago, so a plain ``Dense`` reading block j
    delivers with j + 1 extra steps (the skip connections' alignment, without
    Lava's costly ``DelayDense``).
    ``saturated`` (shape (1,)) counts the updates that clipped re or im (fixed point; the float model leaves
    it 0).  Fixed-point parameters (``input_shift``, ``decay_bits``, ``rounding``,
    ``limit``, ``payload_shift``, ``payload_bits``) are ignored by the float model.
    """

    def __init__(self, *, decay_re: np.ndarray, decay_im: np.ndarray, threshold: float, spike: str,
                 input_shift: int = 0, decay_bits: int = 12, rounding: str = "toward_zero", limit: int = 2**23 - 1,
                 payload_shift: int = 0, payload_bits: int = 24, levels: int = 1, record_steps: int = 0,
                 delays: int = 0, name: str | None = None):
        super().__init__(spike=spike, input_shift=input_shift, decay_bits=decay_bits, rounding=rounding,
                         limit=limit, payload_shift=payload_shift, payload_bits=payload_bits, levels=levels, name=name)
        shape = (len(decay_re),)
        self.a_in = InPort(shape=(2 * shape[0],))
        self.s_out = OutPort(shape=shape)
        self.g_re = OutPort(shape=shape)
        self.g_im = OutPort(shape=shape)
        self.s_delayed = OutPort(shape=(max(delays, 1) * shape[0],))
        self.history = Var(shape=(max(delays, 1), shape[0]), init=0)
        self.re = Var(shape=shape, init=0)
        self.im = Var(shape=shape, init=0)
        self.decay_re = Var(shape=shape, init=decay_re)
        self.decay_im = Var(shape=shape, init=decay_im)
        self.threshold = Var(shape=(1,), init=threshold)
        rows = max(record_steps, 1)
        self.trace_re = Var(shape=(rows, shape[0]), init=0)
        self.trace_im = Var(shape=(rows, shape[0]), init=0)
        self.trace_s = Var(shape=(rows, shape[0]), init=0)
        self.saturated = Var(shape=(1,), init=0)


class _RFModelBase(PyLoihiProcessModel):
    def _record(self, spikes: np.ndarray) -> None:
        row = (self.time_step - 1) % self.trace_re.shape[0]
        self.trace_re[row] = self.re
        self.trace_im[row] = self.im
        self.trace_s[row] = spikes

    def _send(self, spikes: np.ndarray, graded: tuple[np.ndarray, np.ndarray]) -> None:
        self.s_out.send(spikes)
        self.s_delayed.send(self.history.ravel().copy())
        self.history[1:] = self.history[:-1].copy()
        self.history[0] = spikes
        self.g_re.send(graded[0])
        self.g_im.send(graded[1])


@implements(proc=RFCompartment, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRFCompartmentFloat(_RFModelBase):
    """Float model: ``z' = lambda_bar z + (a_re + i a_im)``, spikes by the rule."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    g_re: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    g_im: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_delayed: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    history: np.ndarray = LavaPyType(np.ndarray, float)
    re: np.ndarray = LavaPyType(np.ndarray, float)
    im: np.ndarray = LavaPyType(np.ndarray, float)
    decay_re: np.ndarray = LavaPyType(np.ndarray, float)
    decay_im: np.ndarray = LavaPyType(np.ndarray, float)
    threshold: np.ndarray = LavaPyType(np.ndarray, float)
    trace_re: np.ndarray = LavaPyType(np.ndarray, float)
    trace_im: np.ndarray = LavaPyType(np.ndarray, float)
    trace_s: np.ndarray = LavaPyType(np.ndarray, float)
    saturated: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self) -> None:
        a_re, a_im = np.split(self.a_in.recv(), 2)
        re = self.decay_re * self.re - self.decay_im * self.im + a_re
        im = self.decay_im * self.re + self.decay_re * self.im + a_im
        self.re[:], self.im[:] = re, im
        rule, levels = self.proc_params["spike"], self.proc_params["levels"]
        if rule == "graded":
            spikes = np.zeros_like(re)
        else:
            drive = re if rule == "cartesian" else np.hypot(re, im)
            spikes = (drive > self.threshold[0]).astype(float) if levels == 1 else \
                np.clip(np.ceil(drive / self.threshold[0]) - 1, 0, levels)
        self._record(spikes)
        self._send(spikes, (re, im))


@implements(proc=RFCompartment, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRFCompartmentFixed(_RFModelBase):
    """Bit-accurate model: :func:`s5rf_deploy.fixed.arithmetic.rf_update` and friends; counts its clipped
    updates in ``saturated``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)  # spikes or multi-bit counts
    g_re: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    g_im: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_delayed: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    history: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    decay_re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    decay_im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    threshold: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    trace_re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    trace_im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    trace_s: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    saturated: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self) -> None:
        p = self.proc_params
        a_re, a_im = np.split(self.a_in.recv(), 2)
        re, im, saturated = fx.rf_update(self.re, self.im, self.decay_re, self.decay_im, a_re, a_im,
                                         p["input_shift"], p["decay_bits"], p["rounding"], p["limit"])
        self.re[:], self.im[:] = re, im
        self.saturated[0] += np.count_nonzero(saturated)
        if p["spike"] == "graded":
            spikes = np.zeros_like(re)
            graded = (fx.graded_payload(re, p["payload_shift"], p["payload_bits"]),
                      fx.graded_payload(im, p["payload_shift"], p["payload_bits"]))
        else:
            spikes = fx.rf_spikes(re, im, int(self.threshold[0]), p["spike"], p["levels"]).astype(np.int64)
            graded = (np.zeros_like(re), np.zeros_like(im))
        self._record(spikes)
        self._send(spikes, graded)
