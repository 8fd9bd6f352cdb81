"""Standard NIR graphs in the form Lava's CUBA ``LIF`` computes, in float64, with Lava's timing.

Every neuron node becomes a population obeying ``u[p] = beta u[p-1] + a[p]``,
``v[p] = alpha v[p-1] + u[p]``, spike ``v > theta`` then ``v = 0``, where ``a``
sums *taps*: weights from another population's spikes, the external input or
a constant "bias line", read ``lag`` exact steps back.  The rewriting is exact
for the semantics of :mod:`s5rf_deploy.graphs.exact_sim` (docs/fixed-point.md):

- LIF, IF (1 state): ``beta = 0``, ``alpha = exp(-dt/tau)`` (1 for IF); all
  inputs of step k land in ``a`` at lag 0.  ``v_reset`` is moved to 0 by
  shifting ``v`` (threshold and leak shift with it; the shifted voltage starts
  at ``-v_reset`` one step before step 0, a pulse through the bias lines).
- CubaLIF (2 states, ``I`` and ``v``): ``v_lava[p] = v(k)`` and
  ``u_lava[p] = kappa I(k-1) + e_k``, so ``a[p] = kappa f_{k-1} + e_k - beta e_{k-1}``
  with ``f``/``e`` the per-step increments of ``I``/``v`` (impulses at lag 1,
  held inputs and constants at lags 0 and 1).
- LI, I (voltage outputs): ``u`` is the node's state (``beta = alpha``) and ``v``
  its running sum (``alpha_v = 1``, never fires), as the S5-RF readout.
- CubaLI (a *two-pole* voltage output): as CubaLIF without threshold or reset,
  ``v`` is the node's voltage; the quantizer adds the running sum of ``u``
  (docs/fixed-point.md, "Voltage outputs").

Timing: a population with *offset* ``o`` handles exact step ``k`` at pipeline
step ``p = k + o``; the external input has offset 1 (one leading empty step,
so that every bias line starts at step 1 or later: the line of a tap with
``lag`` into a population with offset ``o`` is 1 from pipeline step ``o + lag``
on); a tap from a source with
offset ``o_s`` needs ``delay = o + lag + back - 1 - o_s`` extra steps (``back``
= 1 on the recurrent edges the exact simulator delays by one step), and ``o``
is the smallest value that keeps every forward delay non-negative.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import nir
import numpy as np
import scipy.linalg

from s5rf_deploy.fixed.arithmetic import LAVA_RULE, SpikeRule
from s5rf_deploy.graphs.network import LINEAR_TYPES, GraphError, GraphNetwork, node_sizes
from s5rf_deploy.graphs.semantics import Reading

INPUT_SOURCE = "<input>"
BIAS_SOURCE = "<bias>"
INPUT_OFFSET = 1
SPIKING = (nir.LIF, nir.IF, nir.CubaLIF)
VOLTAGE = (nir.LI, nir.I, nir.CubaLI)
PASSING = (*LINEAR_TYPES, nir.Flatten, nir.Delay)


@dataclass(frozen=True)
class Tap:
    """Input of a population from ``source`` (a node name, INPUT_SOURCE or BIAS_SOURCE)."""

    source: str
    lag: int  # exact steps back (bias lines: 1 from exact step ``lag`` on), plus 1 on recurrent edges
    weights: np.ndarray  # float64 (n, m): contribution to ``a`` per unit of the source
    delay: int = 0  # extra pipeline steps (set by :func:`lower`)


@dataclass(frozen=True)
class Population:
    """One NIR neuron node in Lava's CUBA LIF form (float64, per neuron)."""

    name: str
    beta: np.ndarray  # (n,) retention of u
    alpha: np.ndarray  # (n,) retention of v
    threshold: np.ndarray | None  # (n,) in shifted v units; None: a voltage output
    taps: tuple[Tap, ...]
    offset: int = 0
    two_pole: bool = False  # a CubaLI output: v is its voltage, not the running sum of u (LI, I)
    rule: SpikeRule = LAVA_RULE  # how it fires and resets (Lava's LIF unless the graph's semantics say else)
    v_reset: np.ndarray | None = None  # (n,) the node's v where shifted v is 0 (None: 0)

    @property
    def size(self) -> int:
        return self.beta.shape[0]

    @property
    def spiking(self) -> bool:
        return self.threshold is not None


@dataclass(frozen=True)
class LoweredGraph:
    """The populations of a graph in dependency order, and where the Output reads them."""

    input_dim: int
    populations: tuple[Population, ...]
    outputs: tuple[str, ...]  # populations forming the Output values, in order
    dt: float

    @property
    def latency(self) -> int:
        return max((p.offset for p in self.populations), default=0)


def _vec(x, n: int) -> np.ndarray:
    arr = np.asarray(x, np.float64).ravel()
    if arr.size not in (1, n):
        raise GraphError(f"a parameter has {arr.size} values for {n} neurons")
    return np.broadcast_to(arr, (n,)).copy()


def _linear(node: nir.NIRNode, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, constant) of a linear pass-through node."""
    n_out = node_sizes(node)[1]
    if isinstance(node, (nir.Affine, nir.Linear)):
        bias = _vec(node.bias, n_out) if isinstance(node, nir.Affine) else np.zeros(n_out)
        return np.atleast_2d(np.asarray(node.weight, np.float64)), bias
    if isinstance(node, nir.Scale):
        return np.diag(_vec(node.scale, n_in)), np.zeros(n_in)
    return np.eye(n_in), np.zeros(n_in)


def _delay_steps(name: str, node: nir.Delay, dt: float) -> int:
    steps = np.asarray(node.delay, np.float64).ravel() / dt
    d = np.rint(steps)
    if np.any(np.abs(steps - d) > 1e-6) or np.any(d < 0) or np.unique(d).size != 1:
        raise GraphError(f"Delay {name!r}: fixed point needs one non-negative multiple of dt for all channels")
    return int(d[0])


def _inputs_of(net: GraphNetwork, name: str, dt: float) -> tuple[dict[tuple[str, str, int], np.ndarray], np.ndarray]:
    """Sources of neuron/Output node ``name`` through pass-through nodes.

    Returns ``{(source, last node before name's chain, delay steps): matrix}`` and the constant current.
    """
    n = node_sizes(net.nodes[name])[0]
    paths: dict[tuple[str, str, int], np.ndarray] = {}
    const = np.zeros(n)

    def walk(node: str, consumer: str, matrix: np.ndarray, delay: int, seen: tuple[str, ...]) -> None:
        nonlocal const
        obj = net.nodes[node]
        if isinstance(obj, PASSING):
            if node in seen:
                raise GraphError(f"node {node!r} is in a cycle without a neuron (an algebraic loop)")
            w, b = _linear(obj, node_sizes(obj)[0])
            const = const + matrix @ b
            extra = _delay_steps(node, obj, dt) if isinstance(obj, nir.Delay) else 0
            for src in net.sources(node):
                walk(src, node, matrix @ w, delay + extra, (*seen, node))
            return
        if isinstance(obj, nir.Input):
            key = (INPUT_SOURCE, consumer, delay)
        elif isinstance(obj, SPIKING):
            key = (node, consumer, delay)
        else:
            raise GraphError(f"node {node!r} ({type(obj).__name__}) feeds {name!r}, but on Lava only spiking neurons "
                             f"(LIF, IF, CubaLIF) and the input can drive other neurons")
        paths[key] = paths.get(key, 0) + matrix

    for src in net.sources(name):
        walk(src, name, np.eye(n), 0, ())
    return paths, const


def _one_state(node: nir.NIRNode, n: int, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(retention alpha, zoh factor phi, input gain g, constant drive c0) of LIF/IF/LI/I."""
    if isinstance(node, (nir.LIF, nir.LI)):
        tau, r = _vec(node.tau, n), _vec(node.r, n)
        alpha = np.exp(-dt / tau)
        return alpha, tau * (1 - alpha), r / tau, _vec(node.v_leak, n) / tau
    return np.ones(n), np.full(n, dt), _vec(node.r, n), np.zeros(n)


def _start_at(v0: np.ndarray, beta: np.ndarray, add) -> None:
    """Bias taps that add ``v0`` to the shifted voltage at step 0 (the exact state starts one step earlier at
    ``-v_reset``, so ``v0 = -alpha v_reset``): a pulse ``v0`` into ``u`` at step 0 and ``-beta v0`` at step 1
    to cancel its memory, written as differences of step lines."""
    add(BIAS_SOURCE, 0, v0[:, None])
    add(BIAS_SOURCE, 1, (-(1 + beta) * v0)[:, None])
    add(BIAS_SOURCE, 2, (beta * v0)[:, None])


def _read_population(net: GraphNetwork, name: str, dt: float, back: set[tuple[str, str]],
                     reading: Reading) -> Population:
    """The Lava form of one neuron node read by a framework's discrete recurrence (graphs/semantics.py)."""
    paths, bias = _inputs_of(net, name, dt)
    taps: list[Tap] = []
    add = _tap_adder(taps)
    r = reading
    for (src, consumer, delay), w in paths.items():
        add(src, delay + _recurrent(back, name, src, consumer) + r.lag, r.gain[:, None] * w)
    add(BIAS_SOURCE, r.lag, (r.gain * bias)[:, None])  # an Affine bias is part of the input
    spiking = r.threshold is not None
    v_reset = r.v_reset if spiking and "zero" in r.rule.reset else np.zeros_like(r.alpha)
    if not spiking and not r.two_state:  # LI, I: u is the node's voltage, v its running sum
        add(BIAS_SOURCE, 0, r.drive[:, None])
        return Population(name, r.alpha, np.ones_like(r.alpha), None, tuple(taps))
    _constant_into_v(r.drive + (r.alpha - 1) * v_reset, r.beta, add)  # shifted v: reset level at 0
    _start_at(-r.alpha * v_reset, r.beta, add)
    if not spiking:
        return Population(name, r.beta, r.alpha, None, tuple(taps), two_pole=True)
    return Population(name, r.beta, r.alpha, r.threshold - v_reset, tuple(taps), rule=r.rule, v_reset=v_reset)


def _tap_adder(taps: list[Tap]):
    """``add(source, lag, weights)``: append a tap unless its weights are all zero."""
    def add(source: str, lag: int, weights: np.ndarray) -> None:
        if np.any(weights):
            taps.append(Tap(source, lag, weights))
    return add


def _recurrent(back: set[tuple[str, str]], name: str, src: str, consumer: str) -> int:
    """1 where the edge from ``src`` into ``name`` (through ``consumer``) closes a cycle (a step late)."""
    return int((src, name) in back or (src, consumer) in back)


def _constant_into_v(c: np.ndarray, beta: np.ndarray, add) -> None:
    """Bias taps that add ``c`` to ``v`` on every step: ``c`` into ``u`` at step 0 and ``-beta c`` from step 1
    on, so that ``u`` carries exactly ``c`` each step."""
    add(BIAS_SOURCE, 0, c[:, None])
    add(BIAS_SOURCE, 1, (-beta * c)[:, None])


def _population(net: GraphNetwork, name: str, dt: float, back: set[tuple[str, str]]) -> Population:
    """The Lava form of one neuron node under the exact ODE reading (taps without delays yet)."""
    node = net.nodes[name]
    n = node_sizes(node)[1]
    paths, bias = _inputs_of(net, name, dt)
    taps: list[Tap] = []
    add = _tap_adder(taps)

    def recurrent(src: str, consumer: str) -> int:
        return _recurrent(back, name, src, consumer)

    if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        ts, tm, r, w_in = (_vec(getattr(node, k), n) for k in ("tau_syn", "tau_mem", "r", "w_in"))
        spiking = isinstance(node, nir.CubaLIF)
        v_reset = _vec(node.v_reset, n) if spiking else np.zeros(n)
        threshold = _vec(node.v_threshold, n) - v_reset if spiking else None
        c0_v = (_vec(node.v_leak, n) - v_reset) / tm
        beta, kappa, alpha, phi_i, phi_v, phi_c = (np.zeros(n) for _ in range(6))
        for i in range(n):
            m = np.array([[-1 / ts[i], 0.0], [r[i] / tm[i], -1 / tm[i]]])
            aug = np.zeros((4, 4))
            aug[:2, :2], aug[:2, 2:] = m, np.eye(2)
            e = scipy.linalg.expm(aug * dt)
            a, phi = e[:2, :2], e[:2, 2:]  # exp(M dt) and its integral
            beta[i], kappa[i], alpha[i] = a[0, 0], a[1, 0], a[1, 1]
            phi_i[i], phi_v[i], phi_c[i] = phi[0, 0], phi[1, 0], phi[1, 1]
        g = w_in / ts
        held_f, held_e = phi_i * g, phi_v * g  # increments of I and v per unit of a held current
        for (src, consumer, delay), w in paths.items():
            lag = delay + recurrent(src, consumer)
            if src == INPUT_SOURCE and net.input_convention == "zoh":
                add(src, lag + 1, (kappa * held_f - beta * held_e)[:, None] * w)
                add(src, lag, held_e[:, None] * w)
            else:  # impulses only move I
                add(src, lag + 1, (kappa * g * dt)[:, None] * w)
        f_const, e_const = held_f * bias, held_e * bias + phi_c * c0_v
        add(BIAS_SOURCE, 1, (kappa * f_const - beta * e_const)[:, None])
        add(BIAS_SOURCE, 0, e_const[:, None])
        _start_at(-alpha * v_reset, beta, add)
        return Population(name, beta, alpha, threshold, tuple(taps), two_pole=not spiking,
                          v_reset=v_reset if spiking else None)
    if not isinstance(node, (*SPIKING, *VOLTAGE)):
        raise GraphError(f"node {name!r} has type {type(node).__name__}, which has no mapping onto Lava's LIF "
                         f"(fixed point supports LIF, IF, CubaLIF, and LI/I/CubaLI feeding an Output)")
    alpha, phi, g, c0 = _one_state(node, n, dt)
    spiking = isinstance(node, SPIKING)
    v_reset = _vec(node.v_reset, n) if spiking else np.zeros(n)
    m = np.log(alpha) / dt  # continuous pole: c0 + m v_reset moves the reset level to 0
    for (src, consumer, delay), w in paths.items():
        gain = phi * g if src == INPUT_SOURCE and net.input_convention == "zoh" else g * dt
        add(src, delay + recurrent(src, consumer), gain[:, None] * w)
    add(BIAS_SOURCE, 0, (phi * (g * bias + c0 + m * v_reset))[:, None])
    if spiking:
        _start_at(-alpha * v_reset, np.zeros(n), add)
        return Population(name, np.zeros(n), alpha, _vec(node.v_threshold, n) - v_reset, tuple(taps),
                          v_reset=v_reset)
    return Population(name, alpha, np.ones(n), None, tuple(taps))


def _in_cycle(net: GraphNetwork, name: str) -> bool:
    """Whether an edge path leads from node ``name`` back to itself (a recurrent node)."""
    seen, todo = set(), [t for s, t in net.edges if s == name]
    while todo:
        node = todo.pop()
        if node == name:
            return True
        if node not in seen:
            seen.add(node)
            todo += [t for s, t in net.edges if s == node]
    return False


def _output_sources(net: GraphNetwork) -> list[str]:
    names = []
    for out in net.outputs:
        if not net.sources(out):
            raise GraphError(f"Output {out!r} is not fed by any node")
        for src in net.sources(out):
            if not isinstance(net.nodes[src], (*SPIKING, *VOLTAGE)):
                raise GraphError(f"Output {out!r} reads {src!r} ({type(net.nodes[src]).__name__}); fixed point needs "
                                 f"Outputs fed directly by neuron nodes")
            names.append(src)
    return names


def lower(net: GraphNetwork, dt: float | None = None) -> LoweredGraph:
    """Rewrite ``net`` into populations in Lava's CUBA LIF form, with offsets and tap delays."""
    from s5rf_deploy.graphs.exact_sim import GraphSimulator
    from s5rf_deploy.graphs.frameworks import semantics_of

    sim = GraphSimulator(net, dt)  # validates the graph and finds the recurrent (delayed) edges
    dt = sim.dt
    if len(net.inputs) != 1:
        raise GraphError(f"fixed point needs exactly one Input node, the graph has {len(net.inputs)}")
    neurons = [n for n in sim.order if isinstance(net.nodes[n], (*SPIKING, *VOLTAGE))]
    others = [n for n, v in net.nodes.items() if not isinstance(v, (*PASSING, nir.Input, nir.Output))
              and n not in neurons]
    if others:
        node = net.nodes[others[0]]
        raise GraphError(f"node {others[0]!r} has type {type(node).__name__}, which has no mapping onto Lava's LIF")
    semantics = semantics_of(net)
    if semantics.exact:
        pops = {name: _population(net, name, dt, sim.delayed) for name in neurons}
    else:
        pops = {name: _read_population(net, name, dt, sim.delayed,
                                       semantics.read(name, net.nodes[name], node_sizes(net.nodes[name])[1], dt,
                                                      _in_cycle(net, name)))
                for name in neurons}
    offsets = {INPUT_SOURCE: INPUT_OFFSET, BIAS_SOURCE: 0}
    for name in neurons:  # dependency order: forward sources come first
        forward = [offsets[t.source] + 1 - t.lag for t in pops[name].taps if t.source in offsets]
        offsets[name] = max([1, *forward])
    outputs = _output_sources(net)
    last = max(offsets[name] for name in neurons)
    for name in outputs:  # voltage outputs: their final v is read after the run, so they handle its last step
        if not pops[name].spiking:
            offsets[name] = last
    lowered = []
    for name in neurons:
        o = offsets[name]
        taps = []
        for t in pops[name].taps:
            if t.source == BIAS_SOURCE:  # a bias line starts where it is needed: no delay
                taps.append(t)
                continue
            delay = o + t.lag - 1 - offsets[t.source]
            if delay < 0:
                raise GraphError(f"recurrent edge {t.source!r} -> {name!r} spans more pipeline steps than its "
                                 f"one-step latency allows on Lava")
            taps.append(Tap(t.source, t.lag, t.weights, delay))
        lowered.append(dataclasses.replace(pops[name], taps=tuple(taps), offset=o))
    return LoweredGraph(net.input_dim, tuple(lowered), tuple(outputs), dt)
