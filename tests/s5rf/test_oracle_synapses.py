"""Oracle: our synapses against Lava's own bit-accurate ``Dense`` (``PyDenseModelBitAcc``), not against our code.

Lava 0.10.0's ``Dense`` (lava/proc/dense/models.py) sends, at each step, what it accumulated the step before
(one step of latency), and accumulates ``W s`` (binary spikes: the sum of the columns of the active inputs;
``num_message_bits > 0``: graded payloads, ``W.dot(s)``), then shifts the whole sum once: ``a << weight_exp`` or
numpy's floor ``a >> -weight_exp``.  Several ``Dense`` into one port add up at the target.

Ours: :class:`~s5rf_deploy.s5rf.lava_procs.synapses.SynapseGroup` (all synapses into a population as one Lava
process, each with its own accumulator and exponent) and the stepper's :class:`~s5rf_deploy.fixed.engine.Port`
(exact float BLAS products, synapses with equal weights and exponent >= 0 merged).  Both must equal one Lava
``Dense`` per synapse, summed at the target, bit for bit at every step: weights of all three sign modes (mixed
weights are even, as Lava's ``Dense`` truncates them), exponents negative, zero and positive, binary spikes and
graded payloads, two source ports and a column block (how a delayed skip synapse reads its source's
``s_delayed`` port).
"""

from __future__ import annotations

import numpy as np
import pytest

import s5rf_deploy  # noqa: F401  (Lava compatibility hook before any Lava import)
from s5rf_deploy.fixed.engine import DelayLines, Port
from s5rf_deploy.fixed.lava_runtime import terminate_lava_processes
from s5rf_deploy.fixed.synapse import Synapse

pytestmark = pytest.mark.lava
ROWS, WIDTH, STEPS = 5, 7, 12


def weights(rng: np.random.Generator, mode: str) -> np.ndarray:
    """Random 8-bit weights that Lava's Dense keeps as they are in the given sign mode."""
    if mode == "mixed":
        return 2 * rng.integers(-128, 128, (ROWS, WIDTH))
    if mode == "excitatory":
        return rng.integers(0, 256, (ROWS, WIDTH))
    return -rng.integers(0, 256, (ROWS, WIDTH))


def run_lava(sources: list, sinks: list, steps: int) -> list[np.ndarray]:
    """Run the graph (one runtime) and return each sink's recorded (rows, steps) data."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    try:
        sources[0].run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = [np.asarray(sink.data.get()).astype(np.int64) for sink in sinks]
    except BaseException:
        terminate_lava_processes()
        raise
    sources[0].stop()
    return out


def port_outputs(synapses: list[Synapse], data: list[np.ndarray], bound: int) -> np.ndarray:
    """The stepper's Port on the same inputs: at step p it reads what the sources sent at step p - 1."""
    port = Port(synapses, ROWS, lambda source: bound)
    lines = DelayLines({(k, "spikes"): x.shape[0] for k, x in enumerate(data)}, 1, 1)
    out = np.zeros((ROWS, STEPS), np.int64)
    for p in range(STEPS):
        out[:, p] = port.inputs(lines, 1)[0]
        for k, x in enumerate(data):
            lines.send((k, "spikes"), x[None, :, p].astype(np.float32))
    return out


@pytest.mark.parametrize("graded", [False, True], ids=["spikes", "graded"])
def test_synapse_group_and_port_equal_lava_dense(graded):
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer

    from s5rf_deploy.s5rf.lava_procs.synapses import SynapseGroup

    rng = np.random.default_rng(190 + graded)
    if graded:  # payloads up to 2**17: |W s| < 2**8 * 2**17 * 14 < 2**31 (Lava's int32 accumulator)
        data = [rng.integers(-(2**17), 2**17, (WIDTH, STEPS)), rng.integers(-(2**17), 2**17, (2 * WIDTH, STEPS))]
        exponents = [-7, -3, 0, 2, -1]
    else:
        data = [(rng.random((WIDTH, STEPS)) < 0.5).astype(np.int64),
                (rng.random((2 * WIDTH, STEPS)) < 0.5).astype(np.int64)]
        exponents = [-3, -1, 0, 4, -6]
    modes = ["mixed", "excitatory", "inhibitory", "mixed", "mixed"]
    # (source port, first column, weights, exponent): port 1 is twice as wide, its synapses read one block of it
    blocks = [(k % 2, WIDTH * (k % 2), weights(rng, mode), exp)
              for k, (mode, exp) in enumerate(zip(modes, exponents, strict=True))]
    blocks[3] = (1, 0, blocks[3][2], blocks[3][3])  # ... the first block for this one
    blocks.append((0, 0, blocks[0][2], blocks[0][3]))  # a repeated synapse: its own accumulator again

    sources = [RingBuffer(data=x.astype(np.int32)) for x in data]
    lava_sink, ours_sink = Sink(shape=(ROWS,), buffer=STEPS), Sink(shape=(ROWS,), buffer=STEPS)
    padded = []  # each block as a Dense over its whole source port (zero weights outside the block)
    for port, col, w, exp in blocks:
        full = np.zeros((ROWS, data[port].shape[0]), np.int64)
        full[:, col:col + WIDTH] = w
        padded.append(full)
        dense = Dense(weights=full, weight_exp=exp, num_message_bits=24 if graded else 0)
        sources[port].s_out.connect(dense.s_in)
        dense.a_out.connect(lava_sink.a_in)
    group = SynapseGroup(rows=ROWS, widths=[x.shape[0] for x in data], blocks=blocks, binary=not graded)
    for k, src in enumerate(sources):
        src.s_out.connect(getattr(group, f"s_in{k}"))
    group.a_out.connect(ours_sink.a_in)
    lava, ours = run_lava(sources, [lava_sink, ours_sink], STEPS)

    np.testing.assert_array_equal(ours, lava)
    synapses = [Synapse(port, full, exp) for (port, _, _, exp), full in zip(blocks, padded, strict=True)]
    bound = int(np.abs(np.concatenate(data, axis=0)).max())
    np.testing.assert_array_equal(port_outputs(synapses, data, bound), lava)
    assert np.all(lava[:, 0] == 0) and np.any(lava < 0) and np.abs(lava).max() > 255
    # the exponents matter: summing the mantissas first and shifting once would differ from Lava
    naive = sum(np.asarray(w, np.int64) @ data[port] * 2.0**exp for (port, _, _, exp), w
                in zip(blocks, padded, strict=True))
    assert np.any(lava[:, 1:] != np.floor(naive[:, :-1]))
