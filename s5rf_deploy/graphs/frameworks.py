"""The readings s5rf-deploy knows: ``nir`` (the exact ODE) and what each framework computes for the graphs its
NIR exporter writes (docs/interop.md gives the rules and the sources they come from).

Each framework reading maps a neuron node to a :class:`~s5rf_deploy.graphs.semantics.Reading`: the update the
framework computes, with the parameters recovered from what its exporter writes (where the exported values
determine them, whatever dt the user simulated with).
"""

from __future__ import annotations

import nir
import numpy as np
from scipy.special import lambertw

from s5rf_deploy.fixed.arithmetic import SpikeRule
from s5rf_deploy.graphs.network import GraphError, GraphNetwork
from s5rf_deploy.graphs.semantics import NIR, Reader, Reading, Semantics

SEMANTICS_KEY = "s5rf_deploy.semantics"  # graph metadata: the reading a graph was imported with


def _vec(node: nir.NIRNode, key: str, n: int) -> np.ndarray:
    arr = np.asarray(getattr(node, key), np.float64).ravel()
    if arr.size not in (1, n):
        raise GraphError(f"parameter {key!r} has {arr.size} values for {n} neurons")
    return np.broadcast_to(arr, (n,)).copy()


def _reading(spiking: bool, n: int, node: nir.NIRNode, rule: SpikeRule, alpha: np.ndarray, beta: np.ndarray,
             gain: np.ndarray, drive: np.ndarray | None = None, lag: int = 0) -> Reading:
    """A :class:`Reading` with the threshold and ``v_reset`` of a spiking node (Lava's rule for voltage
    outputs)."""
    threshold = _vec(node, "v_threshold", n) if spiking else None
    v_reset = _vec(node, "v_reset", n) if spiking else np.zeros(n)
    return Reading(alpha, beta, gain, np.zeros(n) if drive is None else drive, threshold, v_reset,
                   rule if spiking else SpikeRule(), lag)


def _spiking(node: nir.NIRNode) -> bool:
    return isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF))


def snntorch(zero: bool) -> Reader:
    """snnTorch 1.0's ``Leaky``/``RLeaky``/``Synaptic``/``RSynaptic`` for what ``snntorch.export_nir`` writes:
    ``tau = dt / (1 - beta)``, ``r = tau / dt`` and ``w_in = tau_syn / dt``, so ``beta = 1 - 1/r`` and
    ``alpha = 1 - 1/w_in`` whatever dt was (forward Euler with the node's own step ``tau / r``); spike when
    ``v > threshold``.  Reset: subtract the threshold at the next update (its default), or with ``zero``
    (reset_mechanism "zero"): ``v = 0`` after a spike for ``Leaky``, the whole next update dropped for
    ``RLeaky`` (a node in a cycle) and both synaptic neurons."""
    def read(name: str, node: nir.NIRNode, n: int, dt: float, recurrent: bool) -> Reading:
        two_state = isinstance(node, (nir.CubaLIF, nir.CubaLI))
        rule = SpikeRule("subtract_next") if not zero else SpikeRule(
            "zero_next" if two_state or recurrent else "zero")
        if two_state:
            step = _vec(node, "tau_mem", n) / _vec(node, "r", n)
            km, ks = step / _vec(node, "tau_mem", n), step / _vec(node, "tau_syn", n)
            gain = ks * _vec(node, "w_in", n) * km * _vec(node, "r", n)
            return _reading(_spiking(node), n, node, rule, 1 - km, 1 - ks, gain, km * _vec(node, "v_leak", n))
        if isinstance(node, (nir.LIF, nir.LI)):
            k = 1 / _vec(node, "r", n)
            return _reading(_spiking(node), n, node, rule, 1 - k, np.zeros(n), np.ones(n),
                            k * _vec(node, "v_leak", n))
        raise GraphError(f"node {name!r}: snnTorch exports no {type(node).__name__}")
    return read


def norse(name: str, node: nir.NIRNode, n: int, dt: float, recurrent: bool) -> Reading:
    """norse 1.1's steps (``functional/lif.py``, ``lif_box.py``, ``iaf.py``, ``leaky_integrator_box.py``) for
    what ``norse.torch.utils.export_nir`` writes: it exports ``tau = dt / tau_inv`` (dt times the time
    constant), so the per-step factor is ``dt tau_inv = dt^2 / tau``; a ``tau`` of at least ``dt`` (a graph
    not written with that quirk) is read as the time constant itself.  Inputs add to the synaptic current
    (``w_in``) before ``v`` integrates it, the same step; IF adds ``r x`` to ``v``; spike when
    ``v > threshold``, reset to ``v_reset``."""
    def factor(tau: np.ndarray) -> np.ndarray:
        return np.where(tau < dt, dt * dt / tau, dt / tau)

    rule, spiking = SpikeRule(), _spiking(node)
    if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        ks, km = factor(_vec(node, "tau_syn", n)), factor(_vec(node, "tau_mem", n))
        gain = _vec(node, "w_in", n) * km * _vec(node, "r", n)
        return _reading(spiking, n, node, rule, 1 - km, 1 - ks, gain, km * _vec(node, "v_leak", n))
    if isinstance(node, (nir.LIF, nir.LI)):
        k = factor(_vec(node, "tau", n))
        return _reading(spiking, n, node, rule, 1 - k, np.zeros(n), k * _vec(node, "r", n),
                        k * _vec(node, "v_leak", n))
    return _reading(spiking, n, node, rule, np.ones(n), np.zeros(n), _vec(node, "r", n))


UNBOUNDED = 2**31 - 1  # "no limit" on spikes per step (sinabs' MultiSpike)


def sinabs(rule: SpikeRule) -> Reader:
    """sinabs 3.1's layers (``layers/functional/lif.py``, ``activation/``) for what ``sinabs.nir`` writes:
    time constants in steps (whatever dt), LIF ``v = a v + (1 - a) r x`` with ``a = exp(-1/tau)``
    (norm_input), ExpLeak (LI) ``v = a v + r x``, IAF (IF) ``v = v + r x``; fire and reset by ``rule``."""
    def read(name: str, node: nir.NIRNode, n: int, dt: float, recurrent: bool) -> Reading:
        r = _vec(node, "r", n)
        if isinstance(node, nir.IF):
            return _reading(True, n, node, rule, np.ones(n), np.zeros(n), r)
        if isinstance(node, (nir.LIF, nir.LI)):
            a = np.exp(-1 / _vec(node, "tau", n))
            gain = r if isinstance(node, nir.LI) else (1 - a) * r
            return _reading(_spiking(node), n, node, rule, a, np.zeros(n), gain, (1 - a) * _vec(node, "v_leak", n))
        raise GraphError(f"node {name!r}: sinabs exports no {type(node).__name__}")
    return read


def rockpool(name: str, node: nir.NIRNode, n: int, dt: float, recurrent: bool) -> Reading:
    """rockpool 3.1's ``LIFNeuronTorch`` / ``LIFTorch`` / ``ExpSynTorch`` (``nn/modules/torch/``) for what its
    NIR export writes (``nn/modules/torch/nir.py``): ``r = tau exp(-u) / u`` with ``u = dt / tau``, so
    ``u = W(1/r)`` (Lambert W) recovers each neuron's decay ``exp(-u)`` and step ``tau u`` whatever dt was.
    ``LIFNeuronTorch``: ``v = a v + x``; ``LIFTorch`` and ``ExpSynTorch`` add the input to ``i`` and decay it
    before ``v`` takes it (``b (i + x)``, the same step); multi-spike ``floor(v / threshold)`` where
    ``v >= threshold`` (at most 2^16 per step), subtract reset.  Its neuron bias is not exported."""
    rule = SpikeRule("subtract", inclusive=True, max_spikes=2**16)
    if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        tm = _vec(node, "tau_mem", n)
        u = lambertw(1 / _vec(node, "r", n)).real
        b = np.exp(-tm * u / _vec(node, "tau_syn", n))
        return _reading(_spiking(node), n, node, rule, np.exp(-u), b, b * _vec(node, "w_in", n))
    if isinstance(node, (nir.LIF, nir.LI)):
        u = lambertw(1 / _vec(node, "r", n)).real
        if isinstance(node, nir.LI):  # ExpSynTorch: i = b (i + x), its output
            return _reading(False, n, node, rule, np.exp(-u), np.zeros(n), np.exp(-u))
        return _reading(True, n, node, rule, np.exp(-u), np.zeros(n), np.ones(n))
    raise GraphError(f"node {name!r}: rockpool exports no {type(node).__name__}")


def spyx(name: str, node: nir.NIRNode, n: int, dt: float, recurrent: bool) -> Reading:
    """spyx 1.0's ``nn.IF`` / ``LIF`` / ``CuBaLIF`` for what ``spyx.nir.to_nir`` writes: ``r = beta`` and
    ``tau_mem = dt / (1 - beta)``, ``tau_syn = dt / (1 - alpha)``, so ``beta = r`` and
    ``alpha = 1 - tau_mem (1 - r) / tau_syn`` whatever dt was.  spyx fires on the state *before* the step's
    update (``spikes = H(V[t-1] - threshold)``): read as a neuron whose ``v[k]`` is spyx's ``V[k-1]``, so inputs
    reach it one step later (lag 1) and its spikes come out aligned; LIF and IF subtract the threshold after
    the decay (``subtract_next``), CuBaLIF before it (``subtract``)."""
    r = _vec(node, "r", n)
    if isinstance(node, nir.CubaLIF):
        alpha = 1 - _vec(node, "tau_mem", n) * (1 - r) / _vec(node, "tau_syn", n)
        return _reading(True, n, node, SpikeRule("subtract"), r, alpha, _vec(node, "w_in", n), lag=1)
    if isinstance(node, nir.LIF):
        return _reading(True, n, node, SpikeRule("subtract_next"), r, np.zeros(n), np.ones(n), lag=1)
    if isinstance(node, nir.IF):
        return _reading(True, n, node, SpikeRule("subtract_next"), np.ones(n), np.zeros(n), r, lag=1)
    raise GraphError(f"node {name!r}: the spyx reading covers IF, LIF and CubaLIF, not {type(node).__name__}")


SEMANTICS: dict[str, Semantics] = {s.name: s for s in (
    Semantics(NIR, "NIR's continuous-time ODEs solved exactly (docs/nir.md)"),
    Semantics("snntorch", "snnTorch's Leaky/Synaptic defaults: beta = 1 - 1/r (forward Euler), spike when "
              "v > threshold, subtract the threshold at the next step", snntorch(zero=False), 1e-4),
    Semantics("snntorch-zero", "snnTorch with reset_mechanism 'zero': beta = 1 - 1/r, spike when v > threshold; "
              "Leaky: v = 0 after a spike; RLeaky, Synaptic, RSynaptic: the next update dropped",
              snntorch(zero=True), 1e-4),
    Semantics("norse", "norse 1.1's steps at dt 1e-3 (forward Euler, exported tau read as dt times the time "
              "constant), spike when v > threshold, reset to v_reset", norse, 1e-3),
    Semantics("sinabs", "sinabs 3.1's defaults: time constants in steps, exact decay, LIF inputs scaled by "
              "1 - exp(-1/tau), multi-spike floor(v / threshold) per step, subtract reset",
              sinabs(SpikeRule("subtract", inclusive=True, max_spikes=UNBOUNDED)), 1.0),
    Semantics("sinabs-single", "sinabs 3.1 with SingleSpike: as sinabs, one spike per step when v >= threshold, "
              "subtract reset", sinabs(SpikeRule("subtract", inclusive=True)), 1.0),
    Semantics("rockpool", "rockpool 3.1's LIFTorch/LIFNeuronTorch: decay and step recovered from r, multi-spike "
              "floor(v / threshold) when v >= threshold, subtract reset", rockpool, 1e-3),
    Semantics("spyx", "spyx 1.0's IF/LIF/CuBaLIF: beta = r, spike when the state before the step exceeds the "
              "threshold, subtract reset", spyx, 1.0),
)}


def semantics_named(name: str) -> Semantics:
    """The reading called ``name``; an unknown name is a one-line error listing the known ones."""
    if name not in SEMANTICS:
        raise GraphError(f"unknown semantics {name!r}; one of: {', '.join(SEMANTICS)}")
    return SEMANTICS[name]


def semantics_of(net: GraphNetwork) -> Semantics:
    """The reading of ``net``."""
    return semantics_named(net.semantics)


FRAMEWORK_KEYS = ("framework", "exporter", "generator", "source")  # metadata that may name the writer


def detect(graph: nir.NIRGraph) -> str | None:
    """The framework that wrote ``graph`` where its metadata names one (none of the five exporters writes such
    metadata today); else None."""
    meta = graph.metadata or {}
    for key in FRAMEWORK_KEYS:
        value = str(meta.get(key, "")).lower()
        for name in SEMANTICS:
            if name != NIR and name in value:
                return name
    return None


def _close(a: np.ndarray, b: np.ndarray | float) -> bool:
    return bool(np.allclose(a, b, rtol=1e-4, atol=0))


def _implied_steps(framework: str, node: nir.NIRNode) -> np.ndarray | None:
    """The dt ``framework``'s exporter must have used to write ``node`` as it is (an empty array where the
    pattern holds but implies no dt), or None where the node is not what that exporter writes (to float32
    precision)."""
    p = {k: np.asarray(v, np.float64).ravel() for k, v in vars(node).items()
         if k not in ("input_type", "output_type", "metadata") and v is not None}
    none = np.zeros(0)
    if isinstance(node, nir.IF):
        return none if framework in ("norse", "sinabs", "spyx") and _close(p["r"], 1) else None
    tau = p.get("tau", p.get("tau_mem"))
    r, w_in = p["r"], p.get("w_in", np.ones(1))
    two_state = isinstance(node, (nir.CubaLIF, nir.CubaLI))
    if framework == "snntorch":  # its exporter always writes dt = 1e-4
        steps = np.concatenate([tau / r, p["tau_syn"] / w_in]) if two_state else tau / r
        return steps if _close(steps, 1e-4) else None
    if framework == "norse":
        return none if _close(r, 1) and _close(w_in, 1) and bool(np.all(tau < 1e-3)) else None
    if framework == "sinabs":
        return none if not two_state and _close(r, 1) and bool(np.all(tau >= 1)) else None
    if framework == "rockpool":
        return tau * lambertw(1 / r).real if _close(w_in, 1) and bool(np.all(r > 0)) else None
    return tau * (1 - r) if _close(w_in, 1) else None  # spyx: r = beta = 1 - dt / tau


def _round(dt: float) -> bool:
    """Whether ``dt`` is 1, 2 or 5 times a power of ten (to float32 precision), as the steps people choose."""
    mantissa = dt / 10.0 ** np.floor(np.log10(dt))
    return any(_close(np.array([mantissa]), m) for m in (1, 2, 5, 10))


def look_alikes(net: GraphNetwork) -> list[str]:
    """Frameworks whose NIR exporter writes neuron parameters like ``net``'s (every neuron node matching the
    pattern of docs/interop.md, with one round dt, such as 1e-3, for the whole graph): a hint, never applied
    without the user's ``--semantics``."""
    neurons = [node for node in net.nodes.values() if isinstance(node, (nir.IF, nir.LIF, nir.LI, nir.CubaLIF,
                                                                         nir.CubaLI, nir.I))]
    families = sorted({name.split("-")[0] for name in SEMANTICS if name != NIR})
    found = []
    for framework in families:
        steps = [_implied_steps(framework, node) for node in neurons]
        if neurons and all(s is not None for s in steps):
            implied = np.concatenate(steps)
            if implied.size == 0 or (np.all(implied > 0) and _close(implied, implied[0]) and _round(implied[0])):
                found.append(framework)
    return found
