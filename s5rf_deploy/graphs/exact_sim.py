"""Exact float simulation of a :class:`GraphNetwork` (our reference semantics for NIR graphs).

Semantics (docs/nir.md):

- Signals are 1-D.  Neuron nodes (I, IF, LI, LIF, CubaLI, CubaLIF) are linear
  ODEs in their states; LI/I/CubaLI output their voltage, a continuous signal.
  Spiking nodes (IF, LIF, CubaLIF, Threshold) output spikes at the sampling
  instants ``k dt`` where their voltage (for Threshold: its input) exceeds the
  threshold (strict), after which IF/LIF/CubaLIF reset ``v = v_reset``.
- A discrete signal is a train of Dirac impulses: sample value ``s_k`` is an
  impulse of area ``s_k dt`` at ``k dt`` (so a value held at c on every step
  has the same mean as a constant current c; a spike is an impulse of area dt).
- Affine/Linear/Scale/Flatten map signals linearly (an Affine bias is a
  constant current); several edges into a node add up.
- External inputs follow the graph's input convention: "impulse" (as above)
  or "zoh" (sample k is held on ``((k-1) dt, k dt]``).
- Between instants, all states evolve jointly under their linear ODE, solved
  exactly with the matrix exponential (coupled states are discretized
  together).  At instant k, impulses are applied as state jumps in dependency
  order, so a spike reaches the next layer in the same step.  Edges that close
  a cycle (found by depth-first search from the inputs) carry the value of the
  previous step, as recurrent connections do in every SNN framework.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nir
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from s5rf_deploy.graphs.network import (
    LINEAR_TYPES,
    SPIKING_TYPES,
    STATE_TYPES,
    GraphError,
    GraphNetwork,
    node_sizes,
)


def _vec(x, n: int) -> np.ndarray:
    """A parameter as a float64 vector of length ``n`` (a scalar is broadcast)."""
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 1:
        return np.full(n, arr[0])
    if arr.size != n:
        raise GraphError(f"a parameter has {arr.size} values for {n} neurons")
    return arr.copy()


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class _Signal:
    """A node output: continuous ``Cx X + Ch h + c0`` plus impulses ``sum_m Imp[m] out_m``."""

    cx: sp.csr_matrix
    ch: sp.csr_matrix
    c0: np.ndarray
    imp: dict[str, np.ndarray]

    def mapped(self, w: np.ndarray, b: np.ndarray | None = None) -> _Signal:
        ws = sp.csr_matrix(w)
        c0 = w @ self.c0 + (0 if b is None else b)
        return _Signal(ws @ self.cx, ws @ self.ch, c0, {k: w @ v for k, v in self.imp.items()})

    def __add__(self, other: _Signal) -> _Signal:
        imp = dict(self.imp)
        for k, v in other.imp.items():
            imp[k] = imp[k] + v if k in imp else v
        return _Signal(self.cx + other.cx, self.ch + other.ch, self.c0 + other.c0, imp)


def _linear_map(node: nir.NIRNode, n_in: int) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(node, nir.Affine):
        return np.atleast_2d(np.asarray(node.weight, np.float64)), _vec(node.bias, node_sizes(node)[1])
    if isinstance(node, nir.Linear):
        return np.atleast_2d(np.asarray(node.weight, np.float64)), None
    return np.diag(_vec(node.scale, n_in)), None


def _neuron_system(node: nir.NIRNode, n: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-neuron (states, M (n,s,s), input gain (n,s), constant (n,s), voltage index)."""
    if isinstance(node, (nir.I, nir.IF)):
        r = _vec(node.r, n)
        return 1, np.zeros((n, 1, 1)), r[:, None], np.zeros((n, 1)), 0
    if isinstance(node, (nir.LI, nir.LIF)):
        tau, r, vl = _vec(node.tau, n), _vec(node.r, n), _vec(node.v_leak, n)
        return 1, (-1 / tau)[:, None, None], (r / tau)[:, None], (vl / tau)[:, None], 0
    ts, tm = _vec(node.tau_syn, n), _vec(node.tau_mem, n)
    r, vl, w_in = _vec(node.r, n), _vec(node.v_leak, n), _vec(node.w_in, n)
    m = np.zeros((n, 2, 2))
    m[:, 0, 0] = -1 / ts
    m[:, 1, 0] = r / tm
    m[:, 1, 1] = -1 / tm
    gain = np.stack([w_in / ts, np.zeros(n)], -1)
    const = np.stack([np.zeros(n), vl / tm], -1)
    return 2, m, gain, const, 1


class GraphSimulator:
    """Compiled exact simulator of one :class:`GraphNetwork` with sampling period ``dt``."""

    def __init__(self, net: GraphNetwork, dt: float | None = None) -> None:
        dt = dt if dt is not None else net.dt
        if dt is None:
            raise GraphError("the graph has no dt in its metadata; pass the sampling period (--dt)")
        self.net, self.dt = net, float(dt)
        self._layout_states()
        self._build_signals()
        self.in_signals = {name: self.input_signal(name) for name in self.net.nodes}
        for name, node in self.net.nodes.items():
            if isinstance(node, nir.Threshold) and self.in_signals[name].imp:
                raise GraphError(f"Threshold {name!r} receives spikes; it needs a continuous input")
        self._order_events()
        self._discretize()

    # -- structure -----------------------------------------------------------------------------
    def _layout_states(self) -> None:
        self.state_slices: dict[str, slice] = {}
        self.systems: dict[str, tuple] = {}
        offset = 0
        for name, node in self.net.nodes.items():
            if isinstance(node, STATE_TYPES):
                n = node_sizes(node)[0]
                s, m, gain, const, vi = _neuron_system(node, n)
                self.state_slices[name] = slice(offset, offset + n * s)
                self.systems[name] = (n, s, m, gain, const, vi)
                offset += n * s
        self.nx = offset
        self.input_slices: dict[str, slice] = {}
        offset = 0
        for name in self.net.inputs:
            n = node_sizes(self.net.nodes[name])[0]
            self.input_slices[name] = slice(offset, offset + n)
            offset += n
        self.nh = offset if self.net.input_convention == "zoh" else 0

    def _voltage_rows(self, name: str) -> sp.csr_matrix:
        n, s, _, _, _, vi = self.systems[name]
        cols = self.state_slices[name].start + np.arange(n) * s + vi
        return sp.csr_matrix((np.ones(n), (np.arange(n), cols)), shape=(n, self.nx))

    def _emits_impulses(self, name: str) -> bool:
        node = self.net.nodes[name]
        return isinstance(node, (*SPIKING_TYPES, nir.Threshold, nir.Delay)) or (
            name in self.net.inputs and self.net.input_convention == "impulse")

    def _build_signals(self) -> None:
        """Output signal of every node, as linear maps of states, held inputs and impulse sources."""
        self.signals: dict[str, _Signal] = {}
        visiting: set[str] = set()

        def signal(name: str) -> _Signal:
            if name in self.signals:
                return self.signals[name]
            node = self.net.nodes[name]
            n = node_sizes(node)[1]
            empty = _Signal(sp.csr_matrix((n, self.nx)), sp.csr_matrix((n, self.nh)), np.zeros(n), {})
            if self._emits_impulses(name):
                out = _Signal(empty.cx, empty.ch, empty.c0, {name: np.eye(n)})
            elif isinstance(node, STATE_TYPES):
                out = _Signal(self._voltage_rows(name), empty.ch, empty.c0, {})
            elif name in self.net.inputs:  # held input
                sl = self.input_slices[name]
                ch = sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(sl.start, sl.stop))), shape=(n, self.nh))
                out = _Signal(empty.cx, ch, empty.c0, {})
            else:
                if name in visiting:
                    raise GraphError(f"algebraic loop through {name!r}: a cycle without any neuron state")
                visiting.add(name)
                total = self.input_signal(name, signal)
                visiting.discard(name)
                out = total.mapped(*_linear_map(node, node_sizes(node)[0])) if isinstance(node, LINEAR_TYPES) \
                    else total
            self.signals[name] = out
            return out

        self._signal = signal
        for name in self.net.nodes:
            signal(name)

    def input_signal(self, name: str, signal: Callable[[str], _Signal] | None = None) -> _Signal:
        """Sum of the signals on the edges into ``name``."""
        signal = signal or self._signal
        n = node_sizes(self.net.nodes[name])[0]
        total = _Signal(sp.csr_matrix((n, self.nx)), sp.csr_matrix((n, self.nh)), np.zeros(n), {})
        for src in self.net.sources(name):
            total = total + signal(src)
        return total

    def _order_events(self) -> None:
        """Order nodes that jump, spike or delay; cut cycles at back edges (found by DFS)."""
        events = [n for n in self.net.nodes if n in self.state_slices or self._emits_impulses(n)]
        deps: dict[str, list[str]] = {n: [] for n in events}
        for name in events:
            if name in self.net.inputs:
                continue
            sig = self.in_signals[name]
            deps[name] += list(sig.imp)
            if isinstance(self.net.nodes[name], nir.Threshold):
                used = set(sig.cx.indices)
                deps[name] += [m for m, sl in self.state_slices.items() if used & set(range(sl.start, sl.stop))]
        consumers: dict[str, list[str]] = {n: [] for n in events}
        for n, ds in deps.items():
            for d in ds:
                consumers[d].append(n)
        order: list[str] = []
        state: dict[str, int] = {}
        self.delayed: set[tuple[str, str]] = set()

        def visit(n: str) -> None:
            state[n] = 1
            for c in consumers[n]:
                if state.get(c) == 1:
                    self.delayed.add((n, c))
                elif c not in state:
                    visit(c)
            state[n] = 2
            order.append(n)

        roots = [n for n in events if n in self.net.inputs] + sorted(events)
        for n in roots:
            if n not in state:
                visit(n)
        order.reverse()  # reverse DFS finishing order: every kept dependency precedes its consumer
        self.order = order

    # -- discretization ------------------------------------------------------------------------
    def _continuous_system(self) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        a = sp.lil_matrix((self.nx, self.nx))
        bh = sp.lil_matrix((self.nx, self.nh))
        c = np.zeros(self.nx)
        blocks = []
        for name, (n, s, m, gain, const, _) in self.systems.items():
            start = self.state_slices[name].start
            blocks += list(m)
            sig = self.in_signals[name]
            g = sp.csr_matrix((gain.ravel(), (np.arange(n * s), np.repeat(np.arange(n), s))), shape=(n * s, n))
            rows = slice(start, start + n * s)
            a[rows, :] = a[rows, :] + g @ sig.cx
            bh[rows, :] = bh[rows, :] + g @ sig.ch
            c[rows] = const.ravel() + g @ sig.c0
        if blocks:
            a = a.tocsr() + sp.block_diag(blocks, format="csr")
        return a.tocsr(), bh.tocsr(), c

    def _discretize(self) -> None:
        """Exact zero-order-hold discretization per coupled component (Van Loan's method)."""
        a, bh, c = self._continuous_system()
        pattern = (abs(a) + abs(a.T)).tocsr()
        count, labels = connected_components(pattern, directed=False) if self.nx else (0, np.zeros(0, int))
        groups: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        for comp in range(count):
            idx = np.flatnonzero(labels == comp)
            hcols = np.unique(bh[idx].indices)
            groups.setdefault((len(idx), len(hcols)), []).append((idx, hcols))
        phi_r, phi_c, phi_v, gh_r, gh_c, gh_v = [], [], [], [], [], []
        gc = np.zeros(self.nx)
        a_dense = a.tolil()
        for (m, k), members in groups.items():
            aug = np.zeros((len(members), m + k + 1, m + k + 1))
            for j, (idx, hcols) in enumerate(members):
                aug[j, :m, :m] = a_dense[idx][:, idx].toarray()
                if k:
                    aug[j, :m, m:m + k] = bh[idx][:, hcols].toarray()
                aug[j, :m, -1] = c[idx]
            ex = scipy.linalg.expm(aug * self.dt)
            for j, (idx, hcols) in enumerate(members):
                rr, cc = np.meshgrid(idx, idx, indexing="ij")
                phi_r.append(rr.ravel())
                phi_c.append(cc.ravel())
                phi_v.append(ex[j, :m, :m].ravel())
                if k:
                    rr, cc = np.meshgrid(idx, hcols, indexing="ij")
                    gh_r.append(rr.ravel())
                    gh_c.append(cc.ravel())
                    gh_v.append(ex[j, :m, m:m + k].ravel())
                gc[idx] = ex[j, :m, -1]
        self.phi = sp.csr_matrix((_concat(phi_v), (_concat(phi_r).astype(int), _concat(phi_c).astype(int))),
                                 shape=(self.nx, self.nx))
        self.gamma_h = sp.csr_matrix((_concat(gh_v), (_concat(gh_r).astype(int), _concat(gh_c).astype(int))),
                                     shape=(self.nx, self.nh))
        self.gamma_c = gc

    # -- running -------------------------------------------------------------------------------
    def run(self, inputs: np.ndarray, record: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """Simulate ``inputs`` (N, T, input_dim).

        Returns ``outputs`` (N, T, output_dim) sampled after each step, for
        every node named in ``record`` its output ``out_<name>`` (N, T, n) and,
        for neuron nodes, its voltage after the step ``v_<name>`` (after reset).
        """
        inputs = np.asarray(inputs, dtype=np.float64)
        if inputs.ndim != 3 or inputs.shape[2] != self.net.input_dim:
            raise GraphError(f"inputs must have shape (N, T, {self.net.input_dim}), got {inputs.shape}")
        n_samples, steps, _ = inputs.shape
        x = np.zeros((n_samples, self.nx))
        prev: dict[str, np.ndarray] = {}
        delay_buf: dict[str, list[np.ndarray]] = {}
        outs = np.zeros((n_samples, steps, self.net.output_dim))
        recs = {f"out_{name}": np.zeros((n_samples, steps, node_sizes(self.net.nodes[name])[1])) for name in record}
        recs.update({f"v_{name}": np.zeros((n_samples, steps, self.systems[name][0]))
                     for name in record if name in self.systems})
        for t in range(steps):
            u = inputs[:, t]
            x = x @ self.phi.T + self.gamma_c
            if self.nh:
                x += u @ self.gamma_h.T
            cur: dict[str, np.ndarray] = {}
            for name in self.net.inputs:
                cur[name] = u[:, self.input_slices[name]]
            for name in self.order:
                if name in self.net.inputs:
                    continue
                node = self.net.nodes[name]
                sig = self.in_signals[name]
                imp = np.zeros((n_samples, sig.c0.shape[0]))
                for src, mat in sig.imp.items():
                    value = prev.get(src) if (src, name) in self.delayed else cur[src]
                    if value is not None:
                        imp += value @ mat.T
                if name in self.state_slices:
                    cur[name] = self._update_state(name, node, x, imp)
                elif isinstance(node, nir.Threshold):
                    value = self._sample(sig, x, u, cur)
                    cur[name] = (value > _vec(node.threshold, value.shape[1])).astype(np.float64)
                else:
                    cur[name] = self._delay(name, node, imp, delay_buf)
            outs[:, t] = np.concatenate([self._sample(self.signals[n], x, u, cur) for n in self.net.outputs], 1)
            for name in record:
                recs[f"out_{name}"][:, t] = self._sample(self.signals[name], x, u, cur)
                if name in self.systems:
                    recs[f"v_{name}"][:, t] = x @ self._voltage_rows(name).T
            prev = cur
        return {"outputs": outs, **recs}

    def _sample(self, sig: _Signal, x: np.ndarray, u: np.ndarray, cur: dict[str, np.ndarray]) -> np.ndarray:
        """Value of a signal at the current instant (continuous part plus this step's impulses)."""
        value = x @ sig.cx.T + sig.c0
        if self.nh:
            value = value + u @ sig.ch.T
        for src, mat in sig.imp.items():
            value = value + cur[src] @ mat.T
        return value

    def _update_state(self, name: str, node: nir.NIRNode, x: np.ndarray, imp: np.ndarray) -> np.ndarray | None:
        n, s, _, gain, _, vi = self.systems[name]
        sl = self.state_slices[name]
        view = x[:, sl].reshape(x.shape[0], n, s)
        view += (imp * self.dt)[:, :, None] * gain[None]
        if not isinstance(node, SPIKING_TYPES):
            x[:, sl] = view.reshape(x.shape[0], -1)
            return None
        v = view[:, :, vi]
        spikes = v > _vec(node.v_threshold, n)
        v[spikes] = np.broadcast_to(_vec(node.v_reset, n), v.shape)[spikes]
        view[:, :, vi] = v
        x[:, sl] = view.reshape(x.shape[0], -1)
        return spikes.astype(np.float64)

    def _delay(self, name: str, node: nir.Delay, imp: np.ndarray, buf: dict[str, list[np.ndarray]]) -> np.ndarray:
        steps = np.asarray(node.delay, np.float64) / self.dt
        d = np.rint(steps).astype(int)
        if np.any(np.abs(steps - d) > 1e-6) or np.any(d < 0):
            raise GraphError(f"Delay {name!r}: delays must be non-negative multiples of dt")
        history = buf.setdefault(name, [])
        history.append(imp)
        out = np.zeros_like(imp)
        for lag in np.unique(d):
            if lag < len(history):
                cols = d == lag
                out[:, cols] = history[-1 - lag][:, cols]
        del history[: max(0, len(history) - int(d.max()) - 1)]
        return out
