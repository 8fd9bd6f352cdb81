"""Oracle: our RF rotate-and-decay against Lava's own built-in RF neuron (``lava.proc.rf``), not against our code.

Lava 0.10.0's ``RF`` (lava/proc/rf/process.py, lava/proc/rf/models.py) keeps one complex state per neuron and
one decay per *process*; its fixed-point model ``PyRFModelFixed`` computes, per step,

    real' = clip(scale_volt(cos_decay * real) - scale_volt(sin_decay * imag) + (a_real_in << state_exp))
    imag' = clip(scale_volt(sin_decay * real) + scale_volt(cos_decay * imag) + (a_imag_in << state_exp))

with ``scale_volt(x) = sign(x) * (|x| >> decay_bits)`` and clipping to ``+-(2**(ri_bitwidth - 1) - 1)``,
``ri_bitwidth = 2 * 12``.  Mapping onto our ``RFCompartment`` / ``fixed.arithmetic.rf_update`` / ``Stepper``:

=================================================  ===========================================================
Lava ``RF``                                        ours
=================================================  ===========================================================
``cos_decay = int32((1 - alpha) cos(2 pi / period)  ``decay_re`` (the same integer for every neuron: Lava's
2**decay_bits)`` (truncated toward zero)            decay is shared by the process, ours is per neuron)
``sin_decay`` (likewise, with ``sin``)              ``decay_im``
``state_exp`` (left shift of both inputs)           ``input_shift``
``decay_bits``                                      profile ``decay.bits`` (12 on loihi2)
``scale_volt`` = ``sign * (|x| >> decay_bits)``,     ``rounding = "toward_zero"``
per product
``+-(2**23 - 1)`` (24-bit states)                   ``limit`` = profile ``state_max``
``a_real_in``, ``a_imag_in`` (two ports)            ``a_in`` (one port of ``2P``: real inputs, then imaginary)
=================================================  ===========================================================

Our quantizer rounds poles to nearest (``round(lambda_bar 2**12)``) where Lava truncates ``(1 - alpha) cos``;
that is a choice of coefficients, not arithmetic, so the tests read Lava's integer coefficients back and give
ours the same integers.  What is not comparable: the spike rule (Lava fires when ``real >= vth`` while ``imag``
crosses zero from below; ours ``re > thr`` or ``|z| > thr``) and Lava's int16 input ports (ours take 24-bit
inputs), so only the states are compared, bit for bit, with inputs inside int16, in all four quadrants of the
pole (negative ``cos`` and/or ``sin``), with and without saturation.  The float models (``floating_pt``:
Lava's ``PyRFModelFloat``, our ``PyRFCompartmentFloat``) are compared the same way.

Last, our whole Lava pipeline (``LavaRunner``: RFCompartments, SynapseGroups, Lava's LIF) on quantized networks
with complex poles, non-identity complex V (graded payloads) and skip connections, against the big-integer
oracle of docs/fixed-point.md (``helpers.bigint_run``), not against the stepper.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import s5rf_deploy  # noqa: F401  (Lava compatibility hook before any Lava import)
from helpers import bigint_run, make_model, random_spikes
from s5rf_deploy.fixed.lava_runtime import terminate_lava_processes
from s5rf_deploy.fixed.synapse import INPUT, Synapse
from s5rf_deploy.hw_profiles import load_profile
from s5rf_deploy.s5rf.artifact import FxpNetwork, Readout, Stage
from s5rf_deploy.s5rf.network import network_from_model
from s5rf_deploy.s5rf.quantize import quantize
from s5rf_deploy.s5rf.stepper import Stepper

pytestmark = pytest.mark.lava
LOIHI2 = load_profile("loihi2")
DECAY_BITS = LOIHI2.decay["bits"]
P = 4  # neurons per case

# (period, alpha, state_exp): poles in all four quadrants, fast and slow rotation, input shifts 0..7.
# sin(2 pi / period) < 0 for 1 < period < 2 and for period < 0; cos < 0 for 4/3 < period < 4.
CASES = [
    (7.3, 0.02, 2),  # cos > 0, sin > 0, slow decay
    (3.1, 0.15, 4),  # cos < 0, sin > 0
    (1.7, 0.05, 0),  # cos < 0, sin < 0
    (-5.0, 0.10, 3),  # cos > 0, sin < 0
    (9.0, 0.01, 7),  # inputs << 7 with little decay: states clip at +-(2**23 - 1)
]


def lava_steps(first, cfg, steps: int, probes: list) -> list[np.ndarray]:
    """Run the graph of ``first`` one step at a time, reading every Var of ``probes`` after each step."""
    from lava.magma.core.run_conditions import RunSteps

    out: list[list[np.ndarray]] = [[] for _ in probes]
    try:
        first.create_runtime(run_cfg=cfg)
        for _ in range(steps):
            first.run(condition=RunSteps(num_steps=1))
            for trace, var in zip(out, probes, strict=True):
                trace.append(np.array(var.get()))
    except BaseException:
        terminate_lava_processes()
        raise
    first.stop()
    return [np.stack(trace) for trace in out]


def lava_rf_coefficients(period: float, alpha: float) -> tuple[int, int]:
    """Lava's integer (cos_decay, sin_decay) for a period and alpha, as its RF Process computes them."""
    from lava.proc.rf.process import RF

    rf = RF(shape=(1,), period=period, alpha=alpha, state_exp=0, decay_bits=DECAY_BITS, vth=1)
    return int(np.asarray(rf.cos_decay.init).item()), int(np.asarray(rf.sin_decay.init).item())


def test_lava_coefficients_cover_all_quadrants():
    coefficients = [lava_rf_coefficients(period, alpha) for period, alpha, _ in CASES]
    signs = {(np.sign(c), np.sign(s)) for c, s in coefficients}
    assert signs == {(1, 1), (-1, 1), (-1, -1), (1, -1)}
    assert all(c * c + s * s < (1 << 2 * DECAY_BITS) for c, s in coefficients)  # stable poles


def test_fixed_states_equal_lava_rf_bit_for_bit():
    """Our fixed-point RFCompartment (``fixed.arithmetic.rf_update``) against Lava's ``PyRFModelFixed``: the same
    graded inputs into both, every state of every step equal."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer
    from lava.proc.rf.process import RF

    from s5rf_deploy.s5rf.lava_procs.rf import RFCompartment

    steps = 40
    rng = np.random.default_rng(19)
    a_re = rng.integers(-(2**15) + 1, 2**15, (P, steps))
    a_im = rng.integers(-(2**15) + 1, 2**15, (P, steps))
    a_re[:, 25:] = 0  # free ringing (no input) after step 25
    a_im[:, 25:] = 0
    src_re = RingBuffer(data=a_re.astype(np.int32))
    src_im = RingBuffer(data=a_im.astype(np.int32))
    src_ours = RingBuffer(data=np.concatenate([a_re, a_im]).astype(np.int32))
    join = Sink(shape=(P,), buffer=1)  # joins both sub-graphs into one runtime
    src_re.s_out.connect(join.a_in)
    lava_rfs, ours = [], []
    for period, alpha, state_exp in CASES:
        rf = RF(shape=(P,), period=period, alpha=alpha, state_exp=state_exp, decay_bits=DECAY_BITS, vth=1)
        src_re.s_out.connect(rf.a_real_in)
        src_im.s_out.connect(rf.a_imag_in)
        cos, sin = lava_rf_coefficients(period, alpha)
        mine = RFCompartment(decay_re=np.full(P, cos), decay_im=np.full(P, sin), threshold=2**22, spike="cartesian",
                             input_shift=state_exp, decay_bits=DECAY_BITS, rounding="toward_zero",
                             limit=LOIHI2.state_max, record_steps=steps)
        src_ours.s_out.connect(mine.a_in)
        mine.s_out.connect(join.a_in)
        lava_rfs.append(rf)
        ours.append(mine)
    probes = [var for rf in lava_rfs for var in (rf.real, rf.imag)]
    probes += [var for mine in ours for var in (mine.re, mine.im)]
    traces = [t.astype(np.int64) for t in lava_steps(src_re, Loihi2SimCfg(select_tag="fixed_pt"), steps, probes)]
    n = len(CASES)
    for k, case in enumerate(CASES):
        lava_re, lava_im = traces[2 * k], traces[2 * k + 1]
        np.testing.assert_array_equal(traces[2 * (n + k)], lava_re, err_msg=f"real part, case {case}")
        np.testing.assert_array_equal(traces[2 * (n + k) + 1], lava_im, err_msg=f"imaginary part, case {case}")
        assert np.any(lava_re < 0) and np.any(lava_im < 0)  # both rounding directions exercised
    limit = LOIHI2.state_max
    assert np.abs(traces[2 * (n - 1)]).max() == limit  # the last case saturates ...
    assert all(np.abs(traces[2 * k]).max() < limit for k in range(n - 1))  # ... the others do not


def test_float_states_equal_lava_rf_float():
    """Our float RFCompartment against Lava's ``PyRFModelFloat`` (decay_bits 0 keeps Lava's coefficients
    float): same inputs, same operations, so the states agree to rounding (asserted 1e-12 relative)."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer
    from lava.proc.rf.process import RF

    from s5rf_deploy.s5rf.lava_procs.rf import RFCompartment

    steps = 30
    rng = np.random.default_rng(20)
    a_re, a_im = rng.normal(size=(2, P, steps))
    src_re, src_im = RingBuffer(data=a_re), RingBuffer(data=a_im)
    src_ours = RingBuffer(data=np.concatenate([a_re, a_im]))
    join = Sink(shape=(P,), buffer=1)
    src_re.s_out.connect(join.a_in)
    lava_rfs, ours = [], []
    for period, alpha, _ in CASES[:4]:
        rf = RF(shape=(P,), period=period, alpha=alpha, vth=1e9)
        src_re.s_out.connect(rf.a_real_in)
        src_im.s_out.connect(rf.a_imag_in)
        cos = (1 - alpha) * np.cos(2 * np.pi / period)
        sin = (1 - alpha) * np.sin(2 * np.pi / period)
        mine = RFCompartment(decay_re=np.full(P, cos), decay_im=np.full(P, sin), threshold=1e9, spike="cartesian",
                             record_steps=steps)
        src_ours.s_out.connect(mine.a_in)
        mine.s_out.connect(join.a_in)
        lava_rfs.append(rf)
        ours.append(mine)
    probes = [var for rf in lava_rfs for var in (rf.real, rf.imag)]
    probes += [var for mine in ours for var in (mine.re, mine.im)]
    traces = lava_steps(src_re, Loihi2SimCfg(select_tag="floating_pt"), steps, probes)
    k4 = len(lava_rfs)
    for k, case in enumerate(CASES[:4]):
        for part in range(2):
            lava, mine = traces[2 * k + part], traces[2 * (k4 + k) + part]
            np.testing.assert_allclose(mine, lava, rtol=1e-12, atol=1e-12 * np.abs(lava).max(),
                                       err_msg=f"{'real' if part == 0 else 'imaginary'} part, case {case}")
        assert np.abs(traces[2 * k]).max() > 1  # states really rotate and grow beyond one input


def test_stepper_through_lava_dense_equals_lava_rf():
    """The reference Stepper on a one-stage network against Lava's own ``Dense`` -> ``RF`` chain: binary input
    spikes, one synapse of 8-bit weights with a negative exponent (Lava's floor shift) into both inputs,
    Lava's shared decay for every neuron; every state equal.  Lava's RF after time step ``t + 2`` (1-based)
    holds the state the stepper reports for float step ``t``: the RingBuffer sends input ``t`` at step ``t + 1``
    and Dense delivers it one step later."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.rf.process import RF

    steps, width = 30, 6
    rng = np.random.default_rng(21)
    spikes = (rng.random((1, steps, width)) < 0.4).astype(np.float32)
    weights = 2 * rng.integers(-128, 127, (2 * P, width))  # mixed sign: even values, as Lava's Dense keeps them
    period, alpha, state_exp, exp = 1.7, 0.05, 6, -2
    cos, sin = lava_rf_coefficients(period, alpha)
    source = RingBuffer(data=np.concatenate([spikes[0].T, np.zeros((width, 1))], axis=1).astype(np.int32))
    rf = RF(shape=(P,), period=period, alpha=alpha, state_exp=state_exp, decay_bits=DECAY_BITS, vth=1)
    dense_re = Dense(weights=weights[:P], weight_exp=exp)
    dense_im = Dense(weights=weights[P:], weight_exp=exp)
    source.s_out.connect(dense_re.s_in)
    source.s_out.connect(dense_im.s_in)
    dense_re.a_out.connect(rf.a_real_in)
    dense_im.a_out.connect(rf.a_imag_in)
    lava_re, lava_im = lava_steps(source, Loihi2SimCfg(select_tag="fixed_pt"), steps + 1, [rf.real, rf.imag])

    stage = Stage(np.full(P, cos), np.full(P, sin), 2**22, "cartesian", state_exp,
                  (Synapse(INPUT, weights, exp),), 1.0)
    net = FxpNetwork(width, (stage,), Readout((), np.zeros(1, np.int64), 1, 1.0), LOIHI2, (0,), (0,))
    states = Stepper(net).run(spikes, record=("states",)).states[0][0]
    np.testing.assert_array_equal(states[..., 0], lava_re[1:].astype(np.int64))
    np.testing.assert_array_equal(states[..., 1], lava_im[1:].astype(np.int64))
    assert np.any(states < 0) and np.abs(states).max() > 1 << DECAY_BITS


@pytest.mark.parametrize("variant, layers", [("zoh_vmix", 3), ("dirac_keepimag", 4), ("bilinear_polar", 3)])
def test_lava_pipeline_equals_bigint_oracle(variant, layers):
    """LavaRunner (fixed point) against the Python big-integer evaluation: every state of every stage (V mixing too),
    every spike and the readout, bit for bit; HiPPO blocks of 4 (complex poles), V mixing on zoh layer 0, skips on
    layers 1 .. L-2."""
    from s5rf_deploy.s5rf.lava import LavaRunner

    net = network_from_model(make_model(variant, layers=layers, neurons=8, blocks=2, inputs=5, classes=3, seed=29))
    u = random_spikes(2, 30, 5, rate=0.3, seed=30)
    fxp, _ = quantize(net, LOIHI2, u, max_steps=30)
    assert all(np.any(fxp.stages[k].decay_im != 0) for k in fxp.state_stages)
    every_stage = dataclasses.replace(fxp, state_stages=tuple(range(len(fxp.stages))))  # V-mixing stages too
    got = LavaRunner(every_stage, u.shape[1]).run(u)
    for i, sample in enumerate(u):
        oracle = bigint_run(fxp, sample)
        np.testing.assert_array_equal(got.readout[i], oracle.readout, err_msg=f"sample {i}, readout")
        for k in range(len(fxp.stages)):
            np.testing.assert_array_equal(got.states[k][i], oracle.states[k], err_msg=f"sample {i}, stage {k} states")
        for j, k in enumerate(fxp.layer_stages):
            np.testing.assert_array_equal(got.spikes[j][i], oracle.spikes[k], err_msg=f"sample {i}, layer {j} spikes")
            assert 0 < oracle.spikes[k].mean() < 1
