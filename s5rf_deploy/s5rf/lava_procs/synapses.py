"""All synapses into one population as one Lava Process (float and fixed-point models).

Equivalent, bit for bit, to one Lava ``Dense`` per synapse whose outputs add up
at the target: each synapse keeps its own accumulator and exponent
(:func:`s5rf_deploy.fixed.arithmetic.dense_output`, the same code as the stepper),
and the sum is delivered one step later, as ``Dense`` does.  One process
instead of one per weight digit and source cuts Lava's per-process cost per
step.  It has up to ``MAX_SOURCES`` input ports (Lava 0.10's CPU backend does
not implement ``concat_with``; unconnected ports receive zeros); ``blocks`` say
which port and columns each synapse reads.
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

MAX_SOURCES = 6


class SynapseGroup(AbstractProcess):
    """``a_out[t+1] = sum_j dense_output(W_j s_in_{p_j}[t, cols_j], e_j)``.

    ``widths``: size of each input port ``s_in0``, ``s_in1``, ...; ``blocks``:
    ``(port, first column, weights (rows, columns), exponent)`` per synapse;
    ``binary``: the inputs are spikes (else graded values).
    """

    def __init__(self, *, rows: int, widths: list[int], blocks: list[tuple[int, int, np.ndarray, int]],
                 binary: bool = True, name: str | None = None) -> None:
        if not 0 < len(widths) <= MAX_SOURCES:
            raise ValueError(f"a synapse group reads 1 to {MAX_SOURCES} ports, not {len(widths)}")
        super().__init__(blocks=blocks, ports=len(widths), binary=binary, name=name)
        for i in range(MAX_SOURCES):
            setattr(self, f"s_in{i}", InPort(shape=(widths[i] if i < len(widths) else 1,)))
        self.a_out = OutPort(shape=(rows,))
        self.a_buff = Var(shape=(rows,), init=0)


class _SynapseModelBase(PyLoihiProcessModel):
    def _product(self, w: np.ndarray, s: np.ndarray, exp: int) -> np.ndarray:
        raise NotImplementedError

    def run_spk(self) -> None:
        self.a_out.send(self.a_buff)
        inputs = [getattr(self, f"s_in{i}").recv() for i in range(self.proc_params["ports"])]
        total = np.zeros(self.a_buff.shape, self.a_buff.dtype)
        for port, col, w, exp in self.proc_params["blocks"]:
            total += self._product(w, inputs[port][col:col + w.shape[1]], exp)
        self.a_buff[:] = total


@implements(proc=SynapseGroup, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySynapseGroupFloat(_SynapseModelBase):
    """Float model: exponents are 0 in float pipelines, as Lava's float ``Dense`` ignores them."""

    locals().update({f"s_in{i}": LavaPyType(PyInPort.VEC_DENSE, float) for i in range(MAX_SOURCES)})
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)

    def _product(self, w: np.ndarray, s: np.ndarray, exp: int) -> np.ndarray:
        return w @ s


@implements(proc=SynapseGroup, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySynapseGroupFixed(_SynapseModelBase):
    """Bit-accurate model: each synapse as Lava's bit-accurate ``Dense`` (int accumulator, floor shift)."""

    locals().update({f"s_in{i}": LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
                     for i in range(MAX_SOURCES)})
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)

    def _product(self, w: np.ndarray, s: np.ndarray, exp: int) -> np.ndarray:
        # as Lava's Dense: binary spikes sum the weight columns of the active inputs, graded values use dot
        acc = w[:, s.astype(bool)].sum(axis=1) if self.proc_params["binary"] else w.dot(s.astype(np.int64))
        return fx.dense_output(acc, exp)
