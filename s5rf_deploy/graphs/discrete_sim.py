"""Float64 simulation of a graph's populations (:func:`~s5rf_deploy.graphs.layout.lower`) in exact time: the
reference of a graph read by a framework's semantics (graphs/semantics.py), as the exact simulator is for the
``nir`` reading.  Same ``run`` contract as :class:`~s5rf_deploy.graphs.exact_sim.GraphSimulator`.

Each step ``k``, populations in dependency order: ``a`` sums the taps (a source's output ``lag`` steps back;
a bias line is 1 from step ``lag`` on), ``u = beta u + a``, ``v = alpha v + u``, the reset the previous
step's spikes carry (``subtract_next``, ``zero_next``), then fire and reset by the population's rule
(:func:`~s5rf_deploy.fixed.arithmetic.carried_reset` and :func:`~s5rf_deploy.fixed.arithmetic.fire`, the
stepper's rules, on floats).  A spiking population outputs its
spike counts, a voltage population its voltage (``u`` of LI/I, ``v`` of CubaLI).
"""

from __future__ import annotations

import numpy as np

from s5rf_deploy.fixed.arithmetic import carried_reset, fire
from s5rf_deploy.graphs.layout import BIAS_SOURCE, INPUT_SOURCE, Population, lower
from s5rf_deploy.graphs.network import GraphError, GraphNetwork


class DiscreteSimulator:
    """Compiled populations of one :class:`GraphNetwork` under its (framework) semantics."""

    def __init__(self, net: GraphNetwork, dt: float | None = None) -> None:
        self.net = net
        self.low = lower(net, dt)
        self.dt = self.low.dt
        self.pops = {p.name: p for p in self.low.populations}
        self.systems = self.pops  # the neuron nodes whose voltages ``run`` can record
        self.history = 1 + max((t.lag for p in self.low.populations for t in p.taps), default=0)

    def _voltage(self, pop: Population, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The node's voltage: ``u`` of LI/I, else ``v`` back on the node's scale (unshifted)."""
        if not pop.spiking and not pop.two_pole:
            return u
        return v if pop.v_reset is None else v + pop.v_reset

    def run(self, inputs: np.ndarray, record: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """Simulate ``inputs`` (N, T, input_dim): ``outputs`` (N, T, output_dim) and, for recorded nodes,
        ``out_<name>`` and ``v_<name>`` (N, T, n)."""
        inputs = np.asarray(inputs, np.float64)
        if inputs.ndim != 3 or inputs.shape[2] != self.net.input_dim:
            raise GraphError(f"inputs must have shape (N, T, {self.net.input_dim}), got {inputs.shape}")
        n, steps, _ = inputs.shape
        u = {name: np.zeros((n, p.size)) for name, p in self.pops.items()}
        v = {name: np.zeros((n, p.size)) for name, p in self.pops.items()}
        sent: dict[tuple[str, int], np.ndarray] = {}  # (source, step) -> its output, for ``history`` steps
        last = {name: np.zeros((n, p.size)) for name, p in self.pops.items()}

        def source(name: str, step: int, width: int) -> np.ndarray:
            return sent.get((name, step), np.zeros((n, width)))
        outputs = np.zeros((n, steps, sum(self.pops[o].size for o in self.low.outputs)))
        recs = {f"{kind}_{name}": np.zeros((n, steps, self.pops[name].size))
                for name in record if name in self.pops for kind in ("out", "v")}
        for k in range(steps):
            sent[INPUT_SOURCE, k] = inputs[:, k]
            for name, pop in self.pops.items():
                a = np.zeros((n, pop.size))
                for tap in pop.taps:
                    if tap.source == BIAS_SOURCE:
                        a += tap.weights[:, 0] * (k >= tap.lag)
                    else:
                        a += source(tap.source, k - tap.lag, tap.weights.shape[1]) @ tap.weights.T
                u[name] = pop.beta * u[name] + a
                v[name] = pop.alpha * v[name] + u[name]
                if pop.spiking:
                    v[name] = carried_reset(v[name], last[name], pop.threshold, pop.rule)
                    last[name], v[name] = fire(v[name], pop.threshold, pop.rule)
                    value = last[name]
                else:
                    value = self._voltage(pop, u[name], v[name])
                sent[name, k] = value
            outputs[:, k] = np.concatenate([sent[o, k] for o in self.low.outputs], 1)
            for name in record:
                if name in self.pops:
                    recs[f"out_{name}"][:, k] = sent[name, k]
                    recs[f"v_{name}"][:, k] = self._voltage(self.pops[name], u[name], v[name])
            for key in [key for key in sent if key[1] <= k + 1 - self.history]:
                del sent[key]
        return {"outputs": outputs, **recs}


def float_simulator(net: GraphNetwork, dt: float | None = None):
    """The float reference of ``net`` under its semantics: the exact simulator for ``nir``, else a
    :class:`DiscreteSimulator` (both have ``run(inputs, record)``, ``dt`` and ``systems``)."""
    from s5rf_deploy.graphs.exact_sim import GraphSimulator
    from s5rf_deploy.graphs.frameworks import semantics_of

    return GraphSimulator(net, dt) if semantics_of(net).exact else DiscreteSimulator(net, dt)
