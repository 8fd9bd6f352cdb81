"""CubaLI readouts (snnTorch ``Synaptic``, norse ``LICell``) of standard graphs in fixed point: a VOLTAGE stage
(v = the node's voltage V) and a SUM stage (v = the running sum of the same u) whose final values give the time
mean of V; calibrated top-1 agreement with the exact simulator, a derived error bound, the artifact's roles,
and Lava against the stepper."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache

import nir
import numpy as np
import pytest

from mutations import corrupt, refused
from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.engine import FixedRun
from s5rf_deploy.graphs.artifact import BIAS, KIND, SPIKES, SUM, VOLTAGE, LifGraph, load_lif_graph, save_lif_graph
from s5rf_deploy.graphs.exact_sim import GraphSimulator
from s5rf_deploy.graphs.layout import BIAS_SOURCE, lower
from s5rf_deploy.graphs.network import GraphNetwork, from_nir
from s5rf_deploy.graphs.quantize import lif_graph
from s5rf_deploy.graphs.stepper import GraphStepper, v_retention
from s5rf_deploy.hw_profiles import load_profile

LOIHI2 = load_profile("loihi2")
DT = 1e-3
STEPS = 100


@dataclass(frozen=True)
class Case:
    """Input -> Linear -> hidden LIF/CubaLIF layers -> Linear or Affine -> CubaLI (``tau_syn``, ``tau_mem``: one
    value, or two alternating over the neurons) -> Output."""

    seed: int
    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    tau_hidden: float
    tau_syn: tuple[float, ...]
    tau_mem: tuple[float, ...]
    r_tau: bool  # r = tau_mem/dt and w_in = tau_syn/dt (snnTorch, norse), or r = w_in = 1
    cuba: bool = False  # CubaLIF hidden layers instead of LIF
    bias: bool = False  # an Affine bias into the readout and a v_leak: constants through the bias lines

    @property
    def name(self) -> str:
        syn, mem = ("/".join(f"{t * 1e3:g}" for t in ts) for ts in (self.tau_syn, self.tau_mem))
        return (f"s{self.seed}-{self.n_in}x{'x'.join(map(str, self.hidden))}x{self.n_out}-"
                f"{'cuba' if self.cuba else 'lif'}{self.tau_hidden * 1e3:g}ms-CubaLI{syn}-{mem}ms"
                f"{'-bias' if self.bias else ''}-r{'tau' if self.r_tau else '1'}")


CASES = [Case(s, n_in, hidden, n_out, tau_h, syn, mem, r_tau, cuba, bias)
         for s, n_in, hidden, n_out, tau_h, syn, mem, cuba, bias in [
             (0, 16, (32,), 8, 1e-2, (5e-3,), (1e-2,), False, False),
             (1, 20, (48,), 5, 5e-3, (5e-3,), (2e-2,), False, False),
             (2, 12, (24, 16), 10, 1e-2, (2e-3,), (5e-2,), False, False),
             (3, 16, (32,), 6, 2e-2, (2e-3,), (1e-1,), False, False),
             (4, 16, (32,), 8, 1e-2, (5e-3,), (1e-2,), True, False),
             (5, 16, (32,), 8, 1e-2, (2e-3, 5e-3), (1e-2, 3e-2), False, True)]
         for r_tau in (False, True)]


def _graph(case: Case) -> GraphNetwork:
    """Gaussian weights (hidden: std 1 for r = tau/dt, sqrt(tau/dt) for r = 1 so that both spike), readout rows
    of zero mean (so that the class depends on which neurons fire, not on how many)."""
    rng = np.random.default_rng(case.seed)

    def per_neuron(taus: tuple[float, ...], n: int) -> np.ndarray:
        return np.resize(np.asarray(taus), n)

    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(np.array([case.n_in]))}
    edges, prev, width = [], "input", case.n_in
    for i, n in enumerate(case.hidden):
        tau = case.tau_hidden
        nodes[f"fc{i}"] = nir.Linear(rng.normal(0, 1 if case.r_tau else (tau / DT) ** 0.5, (n, width)))
        common = {"r": np.full(n, tau / DT if case.r_tau else 1.0), "v_leak": np.zeros(n),
                  "v_threshold": np.ones(n), "v_reset": np.zeros(n)}
        nodes[f"h{i}"] = (nir.CubaLIF(tau_syn=np.full(n, tau / 2), tau_mem=np.full(n, tau),
                                      w_in=np.full(n, tau / 2 / DT if case.r_tau else 1.0), **common)
                          if case.cuba else nir.LIF(tau=np.full(n, tau), **common))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"h{i}")]
        prev, width = f"h{i}", n
    n = case.n_out
    w = rng.normal(0, 1, (n, width))
    w -= w.mean(axis=0)
    nodes["fc_out"] = nir.Affine(w, rng.normal(0, 0.5, n)) if case.bias else nir.Linear(w)
    ts, tm = per_neuron(case.tau_syn, n), per_neuron(case.tau_mem, n)
    nodes["ro"] = nir.CubaLI(tau_syn=ts, tau_mem=tm, r=tm / DT if case.r_tau else np.ones(n),
                             w_in=ts / DT if case.r_tau else np.ones(n),
                             v_leak=rng.normal(0, 0.3, n) if case.bias else np.zeros(n))
    nodes["output"] = nir.Output(np.array([n]))
    edges += [(prev, "fc_out"), ("fc_out", "ro"), ("ro", "output")]
    return from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}))


def _spikes(width: int, seed: int, n: int, steps: int = STEPS) -> np.ndarray:
    """Binary spike trains with a random rate (2 % to 40 %) per sample and channel."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, steps, width)) < rng.uniform(0.02, 0.4, (n, 1, width))).astype(np.float64)


@dataclass(frozen=True)
class Run:
    net: GraphNetwork
    graph: LifGraph
    inputs: np.ndarray
    exact: dict[str, np.ndarray]
    fixed: FixedRun


def _run(net: GraphNetwork, hidden: tuple[str, ...], seed: int, calibrate: bool) -> Run:
    """Quantize (calibrated on 64 training samples, or data-free) and run 200 other samples both ways."""
    calibration = _spikes(net.input_dim, 1000 + seed, 64) if calibrate else None
    graph, _ = lif_graph(net, LOIHI2, calibration=calibration)
    x = _spikes(net.input_dim, 2000 + seed, 200)
    return Run(net, graph, x, GraphSimulator(net).run(x, hidden),
               GraphStepper(graph).run(x, record=("spikes", "states")))


@cache
def _calibrated(case: Case) -> Run:
    return _run(_graph(case), tuple(f"h{i}" for i in range(len(case.hidden))), case.seed, True)


def _per_neuron(graph: LifGraph, node: str, role: str, value) -> np.ndarray:
    """``value(stage)`` of ``node``'s stages of ``role``, per neuron of the node."""
    out = np.zeros(graph.node_sizes[node])
    for k in graph.node_stages(node, role):
        out[graph.stages[k].neurons] = value(graph.stages[k])
    return out


def _derived_bound(run: Run, hidden: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fixed readout / S, float sum of V over the T steps, tolerance) per sample and class, the float readout
    driven by the spikes the fixed-point hidden layer sent (so that only the readout's own quantization counts).

    Derivation.  Lowered float form in state units (``S``): ``S u_k = beta S u_{k-1} + 64 a_k`` and
    ``S V_k = alpha S V_{k-1} + S u_k`` (exact: ``u_k = V_k - alpha V_{k-1}``), ``a_k = T x_k`` with
    targets ``T = S w / 64`` per source (the hidden spikes one step back, CubaLI's current; the bias lines).
    Fixed: ``U_k = R0(beta_q U_{k-1}) + 64 A_k`` with ``|A_k - a_k| <= eps_k := |T~ - T| x_k`` plus one per
    synapse of negative exponent that receives anything (``Dense`` floors), ``T~`` the applied weights; so
    ``|U_k - S u_k| <= B_k := beta_q B_{k-1} + |beta_q - beta| S |u_{k-1}| + 64 eps_k + 1`` (``R0``: the decay
    rounds toward zero, by less than 1).  VOLTAGE: ``W_k = alpha_q W_{k-1} - rho_k + U_k`` (``|rho_k| < 1``),
    so ``|W_k - S V_k| <= C_k := alpha_q C_{k-1} + |alpha_q - alpha| S |V_{k-1}| + 1 + B_k``.  SUM (``dv = 0``)
    holds ``Z = sum_k U_k`` exactly and the readout is ``R = (Z - alpha_q W_{T-1}) / (1 - alpha_q)
    = sum_k W_k + sum_k rho_k / (1 - alpha_q)``, hence ``|R - S sum_k V_k| <= sum_k C_k + T / (1 - alpha_q)``.
    """
    graph, net = run.graph, run.net
    pop = next(p for p in lower(net).populations if p.name == "ro")
    scale = _per_neuron(graph, "ro", VOLTAGE, lambda st: st.scale)
    assert np.all(scale == scale[0]) and np.array_equal(scale, _per_neuron(graph, "ro", SUM, lambda st: st.scale))
    scale = float(scale[0])
    spikes = run.fixed.spikes[hidden].astype(np.float64)
    n, steps, _ = spikes.shape
    lines = graph.bias_starts
    (hidden_stage,) = graph.node_stages(hidden)
    targets = {hidden_stage: np.zeros((pop.size, spikes.shape[-1])), BIAS: np.zeros((pop.size, len(lines)))}
    for tap in pop.taps:
        if tap.source == BIAS_SOURCE:
            targets[BIAS][:, lines.index(pop.offset + tap.lag)] += tap.weights[:, 0] * scale / 2**fx.LIF_INPUT_SHIFT
        else:
            assert tap.source == hidden and tap.lag == 1  # CubaLI's current moves its voltage one step later
            targets[hidden_stage] += tap.weights * scale / 2**fx.LIF_INPUT_SHIFT
    sent = {hidden_stage: np.pad(spikes, ((0, 0), (1, 0), (0, 0)))[:, :-1],  # spikes of step k - 1
            BIAS: np.broadcast_to(np.arange(steps)[:, None] + pop.offset >= np.array(lines)[None, :],
                                  (n, steps, len(lines))).astype(np.float64)}
    eps = np.zeros((n, steps, pop.size))
    for k in graph.node_stages("ro", VOLTAGE):
        st = graph.stages[k]
        for source, target in targets.items():
            applied = sum((s.weights * 2.0**s.weight_exp for s in st.inputs if s.source == source),
                          np.zeros((st.size, target.shape[1])))
            floors = sum(s.weight_exp < 0 for s in st.inputs if s.source == source)
            eps[..., st.neurons] += (sent[source] @ np.abs(applied - target[st.neurons]).T
                                     + floors * sent[source].any(axis=-1, keepdims=True))
    linear = net.nodes["fc_out"]
    sub = from_nir(nir.NIRGraph(nodes={"input": nir.Input(np.array([spikes.shape[-1]])), "fc_out": linear,
                                       "ro": net.nodes["ro"], "output": nir.Output(np.array([pop.size]))},
                                edges=[("input", "fc_out"), ("fc_out", "ro"), ("ro", "output")],
                                metadata={"dt": DT}))
    v = GraphSimulator(sub).run(spikes)["outputs"]  # (N, T, C): the voltage driven by the fixed spikes
    u = v - pop.alpha * np.pad(v, ((0, 0), (1, 0), (0, 0)))[:, :-1]
    beta_q = _per_neuron(graph, "ro", VOLTAGE, lambda st: (4096 - fx.LIF_DS_OFFSET - st.du) / 4096)
    alpha_q = _per_neuron(graph, "ro", VOLTAGE, lambda st: v_retention(graph, st.dv))
    b, c, total = (np.zeros((n, pop.size)) for _ in range(3))
    for k in range(steps):
        prev_u, prev_v = (u[:, k - 1], v[:, k - 1]) if k else (0.0, 0.0)
        b = beta_q * b + np.abs(beta_q - pop.beta) * scale * np.abs(prev_u) + 2**fx.LIF_INPUT_SHIFT * eps[:, k] + 1
        c = alpha_q * c + np.abs(alpha_q - pop.alpha) * scale * np.abs(prev_v) + 1 + b
        total += c
    return run.fixed.readout / scale, v.sum(axis=1), (total + steps / (1 - alpha_q)) / scale


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_calibrated_cubali_readout_agrees_with_exact_simulator(case):
    """Calibrated on 64 training samples, evaluated on 200 others: top-1 agreement >= 0.99, no saturation; the
    node is VOLTAGE stages and SUM stages (dv 0) over the same neurons with the same synapses."""
    run = _calibrated(case)
    for i in range(len(case.hidden)):
        assert run.exact[f"out_h{i}"].mean() > 0.01, f"hidden layer {i} barely spikes"
    expected = run.exact["outputs"].mean(axis=1)
    assert np.all(np.ptp(expected, axis=-1) > 0) and len(set(expected.argmax(-1))) >= 2, "classes are tied"
    assert (run.fixed.predictions == expected.argmax(-1)).mean() >= 0.99
    assert sum(run.fixed.saturation.values()) == 0
    voltage = [run.graph.stages[k] for k in run.graph.node_stages("ro", VOLTAGE)]
    sums = [run.graph.stages[k] for k in run.graph.node_stages("ro", SUM)]
    assert len(voltage) == len(sums) == len(set(case.tau_mem)) and all(st.dv > 0 for st in voltage)
    for a, b in zip(voltage, sums, strict=True):
        assert np.array_equal(a.neurons, b.neurons) and a.du == b.du and b.dv == 0 and not a.spiking
        assert [(s.source, s.weight_exp, s.delay) for s in a.inputs] == [(s.source, s.weight_exp, s.delay)
                                                                         for s in b.inputs]
        assert all(np.array_equal(s.weights, t.weights) for s, t in zip(a.inputs, b.inputs, strict=True))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cubali_readout_within_derived_bound(case):
    """Fixed readout / S within the derived bound of the float sum of V (both driven by the fixed hidden spikes);
    that bound (every floor losing a whole unit whenever its synapse receives anything) stays below 5 % of the
    typical spread between the classes' readouts (10 % with bias lines, whose synapses receive on every step)."""
    run = _calibrated(case)
    got, want, tol = _derived_bound(run, f"h{len(case.hidden) - 1}")
    assert np.all(np.abs(got - want) <= tol)
    assert tol.max() < (0.1 if case.bias else 0.05) * np.median(np.ptp(want, axis=-1))


@pytest.mark.parametrize("case", CASES[:2], ids=[c.name for c in CASES[:2]])
def test_readout_is_the_sum_of_lavas_voltages(case):
    """The readout identity on the stepper's own states: the SUM stage holds the sum of the VOLTAGE stage's u
    exactly, and the readout is the sum of its v over the T steps within T / (1 - a) (Lava rounds ``a v``
    toward zero, by less than one unit per step)."""
    run = _calibrated(case)
    states = run.fixed.states["ro"]  # (N, T, C, 2): the VOLTAGE stages' (u, v)
    a = _per_neuron(run.graph, "ro", VOLTAGE, lambda st: v_retention(run.graph, st.dv))
    u, v = states[..., 0].astype(np.float64), states[..., 1].astype(np.float64)
    z = run.fixed.readout * (1 - a) + a * v[:, -1]
    np.testing.assert_allclose(z, u.sum(axis=1), rtol=0, atol=1e-6 * np.abs(u).sum(axis=1).max())
    assert np.all(np.abs(run.fixed.readout - v.sum(axis=1)) <= STEPS / (1 - a))


@pytest.mark.parametrize("r_tau", [False, True], ids=["r1", "rtau"])
def test_data_free_cubali_readout_stays_within_bound(r_tau):
    """Without calibration the scale holds the worst case over max_steps of the voltage and the running sum of
    u: no readout saturation, the derived bound holds, and the coarse scale warns with the fix."""
    case = CASES[int(r_tau)]
    net = _graph(case)
    graph, report = lif_graph(net, LOIHI2)
    assert report.readout["scale_basis"] == "worst case over 1000 steps"
    assert any("'ro'" in w and "--calibrate FILE" in w for w in report.warnings)
    run = _run(net, ("h0",), case.seed, False)
    assert all(run.fixed.saturation[f"ro[{k}]"] == 0 for k in graph.node_stages("ro"))
    got, want, tol = _derived_bound(run, "h0")
    assert np.all(np.abs(got - want) <= tol)


def test_artifact_keeps_roles_and_validates_them(tmp_path):
    """A CubaLI graph round-trips with its roles; an artifact without roles (written before them) loads with
    SPIKES/SUM from ``spiking``; wrong roles are refused in one line naming the field."""
    graph = _calibrated(CASES[0]).graph  # stages: h0 (spikes), ro VOLTAGE, ro SUM
    assert [st.role for st in graph.stages] == [SPIKES, VOLTAGE, SUM]
    path = tmp_path / "g.fxp"
    save_lif_graph(graph, path)
    loaded = load_lif_graph(path)
    assert [st.role for st in loaded.stages] == [SPIKES, VOLTAGE, SUM]
    x = _spikes(graph.input_dim, 7, 4)
    np.testing.assert_array_equal(GraphStepper(loaded).run(x).readout, GraphStepper(graph).run(x).readout)

    li = dataclasses.replace(graph, stages=graph.stages[:1] + (dataclasses.replace(graph.stages[2], role=None),))
    save_lif_graph(li, tmp_path / "li.fxp")
    old = corrupt(tmp_path / "li.fxp", tmp_path, KIND, lambda meta, arrays: [s.pop("role") for s in meta["stages"]])
    assert [st.role for st in load_lif_graph(old).stages] == [SPIKES, SUM]

    def role(k: int, value, **more):
        return lambda meta, arrays: meta["stages"][k].update(role=value, **more)

    for edit, message in [
        (role(1, "membrane"), "stage 1 role 'membrane' is not one of spikes, sum, voltage"),
        (role(0, SUM), "stage 0 role 'sum' does not match spiking True"),
        (role(1, SPIKES), "stage 1 role 'spikes' does not match spiking False"),
        (role(1, SUM), "stage 1 role 'sum' needs dv 0 (its v sums u)"),
        (role(2, VOLTAGE), "stage 2 role 'voltage' needs dv > 0"),
        (role(2, VOLTAGE, dv=5), "node 'ro' neuron 0 is in 0 stages' neurons of role 'sum'"),
        (role(1, SUM, dv=0), "node 'ro' neuron 0 is in 2 stages' neurons of role 'sum'"),
    ]:
        bad = corrupt(path, tmp_path, KIND, edit)
        refused(bad, message, lambda bad=bad: load_lif_graph(bad))


def test_cubali_without_a_lava_voltage_decay_is_refused():
    """A tau_mem so long that Lava's 12-bit dv rounds to 0 leaves no leak to tell V's sum from u's: refused by
    name (the layout itself is exact)."""
    net = _graph(CASES[0])
    nodes = dict(net.nodes)
    nodes["ro"] = dataclasses.replace(nodes["ro"], tau_mem=np.full(8, 1e4 * DT))
    slow = dataclasses.replace(net, nodes=nodes)
    lower(slow)
    with pytest.raises(S5RFError, match="node 'ro': CubaLI tau_mem is too long"):
        lif_graph(slow, LOIHI2)


@pytest.mark.lava
def test_lava_equals_stepper_on_a_calibrated_cubali_readout():
    """Lava's bit-accurate Dense/LIF and the stepper on a calibrated CubaLI-readout graph (two time constants:
    two VOLTAGE and two SUM stages, bias lines): identical readouts and spikes, no saturation."""
    from s5rf_deploy.graphs.lava import LavaGraphRunner

    net = _graph(CASES[-1])
    graph, _ = lif_graph(net, LOIHI2, calibration=_spikes(16, 5, 16, steps=30))
    x = _spikes(16, 6, 2, steps=30)
    expected = GraphStepper(graph).run(x, record=("spikes",))
    got = LavaGraphRunner(graph, x.shape[1]).run(x)
    np.testing.assert_array_equal(got.readout, expected.readout)
    np.testing.assert_array_equal(got.spikes["h0"], expected.spikes["h0"])
    assert got.saturation == expected.saturation and sum(expected.saturation.values()) == 0
    assert expected.spikes["h0"].mean() > 0.01 and np.ptp(expected.readout) > 0


@pytest.mark.lava
def test_lava_float_cubali_readout_equals_exact_simulator():
    """Lava's floating_pt Dense/LIF on the float layout (VOLTAGE dv = 1 - alpha, SUM dv = 0): the readout identity
    gives the exact simulator's time mean of V."""
    from s5rf_deploy.tasks.simulation import simulate_graph, simulate_graph_lava_float

    net = _graph(CASES[-1])
    x = _spikes(16, 8, 2, steps=30)
    got = simulate_graph_lava_float(net, x)
    np.testing.assert_allclose(got["readout"], simulate_graph(net, x)["readout"], rtol=1e-9, atol=1e-12)
