"""lava-dl netx HDF5 networks: read dense CUBA networks, write spiking NIR chains (docs/netx.md).

netx (``lava.lib.dl.netx.hdf5.Network``) builds, per ``layer/<i>`` group of
type ``dense``, a Lava ``Dense`` (one step of latency) into a Lava ``LIF``
with ``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``.  With Lava's
implicit ``ds_offset = 1`` that is Loihi's CUBA neuron, in integers::

    u[t] = R0(u[t-1] (4096 - iDecay) / 4096) + (W s[t-1] << 6)
    v[t] = R0(v[t-1] (4096 - vDecay) / 4096) + u[t];  spike if v[t] > vThMant << 6, then v = 0

(``R0`` rounds toward zero).  :func:`read_netx` reads that into a
:class:`NetxNetwork` of integers with h5py alone (lava-dl is never imported),
:func:`simulate_netx` runs it bit for bit (with :mod:`s5rf_deploy.fixed.arithmetic`),
:func:`to_graph` turns it into a :class:`GraphNetwork` of NIR primitives that
computes the same recurrence in real arithmetic, and :func:`from_graph` /
:func:`write_netx` go the other way for chains of LIF, IF and CubaLIF layers.
S5-RF networks and quantized graphs are refused (:data:`S5RF_UNSUPPORTED`,
:data:`LIF_GRAPH_UNSUPPORTED`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import nir
import numpy as np
import scipy.linalg

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.inputs import check_spike_inputs
from s5rf_deploy.fixed.synapse import WEIGHT_MAX, WEIGHT_MIN
from s5rf_deploy.graphs.network import GraphNetwork, from_nir

DECAY_UNITY = 1 << fx.LIF_DECAY_BITS  # netx decays are in 1/4096 per step
VTH_MAX = (1 << (fx.LIF_STATE_BITS - 1 - fx.LIF_INPUT_SHIFT)) - 1  # vThMant << 6 must fit the 24-bit voltage
SCALE_EXPONENTS = range(-40, 41)  # power-of-two scales the writer tries per layer
INTEGRAL_RTOL = 1e-9  # float noise tolerated when deciding that scaled values are integers
S5RF_UNSUPPORTED = (
    "netx cannot express S5-RF networks: its RF layers (Lava's RF) share one period and decay per layer, "
    "take separately scaled real and imaginary weights and spike when Im crosses zero upward with Re >= vth, "
    "while S5-RF needs per-neuron poles and spikes on Re > thr or |z| > thr (see docs/netx.md)")
LIF_GRAPH_UNSUPPORTED = (
    "a fixed-point graph's weights (digits with exponents), bias lines and stage thresholds target Lava, not "
    "netx files (8-bit weights with exponent 0, one threshold per layer); export the float NIR graph instead, "
    "which export-netx quantizes for netx")


class NetxError(S5RFError):
    """A netx network (or a model to export) that this converter cannot map exactly."""


@dataclass(frozen=True)
class NetxLayer:
    """One netx ``dense`` layer of CUBA neurons, in Loihi's integers (weight exponent 0)."""

    weight: np.ndarray  # int64 (out, in)
    i_decay: int  # current decay in 1/4096 per step; 4096: the current holds one step's input only
    v_decay: int  # voltage decay in 1/4096 per step
    v_th_mant: int  # spike when v > v_th_mant << 6

    @property
    def size(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True)
class NetxNetwork:
    """A feed-forward chain of netx dense CUBA layers fed by binary input spikes."""

    input_dim: int
    layers: tuple[NetxLayer, ...]

    def validate(self, source: str) -> None:
        """Raise :class:`NetxError` unless netx and Lava reproduce every integer exactly."""
        if not self.layers:
            raise NetxError(f"{source}: the network has no dense layer")
        width = self.input_dim
        for i, layer in enumerate(self.layers):
            where = f"{source}: layer {i}"
            if layer.weight.ndim != 2 or layer.weight.shape[1] != width:
                raise NetxError(f"{where}: weight shape {layer.weight.shape} does not take {width} inputs")
            check_weights(layer.weight, where)
            for name, value, hi in (("iDecay", layer.i_decay, DECAY_UNITY), ("vDecay", layer.v_decay, DECAY_UNITY),
                                    ("vThMant", layer.v_th_mant, VTH_MAX)):
                if not 0 <= value <= hi:
                    raise NetxError(f"{where}: {name} {value} outside [0, {hi}]")
            width = layer.size


def check_weights(weight: np.ndarray, where: str) -> None:
    """Refuse weights that netx's loader plus Lava's bit-accurate ``Dense`` would not reproduce.

    netx re-packs each matrix into mantissas and an exponent; checked over
    random matrices, the result equals the stored integers whenever the
    matrix has a positive weight and lies in [-256, 254] ([0, 255] without
    negative weights).  Without a positive weight netx and Lava disagree on
    the sign mode and can change the weights (an all -256 matrix becomes 0).
    """
    if weight.size == 0 or weight.max() <= 0:
        raise NetxError(f"{where}: the weight matrix has no positive weight, which lava-dl 0.6.0's netx loader "
                        f"can mis-scale")
    hi = WEIGHT_MAX - 1 if weight.min() < 0 else WEIGHT_MAX
    if weight.min() < WEIGHT_MIN or weight.max() > hi:
        raise NetxError(f"{where}: weights span [{weight.min()}, {weight.max()}], outside Loihi's 8-bit "
                        f"[{WEIGHT_MIN}, {hi}]")


# -- reading ---------------------------------------------------------------------------------------
def _text(group: h5py.Group, key: str, where: str) -> str:
    """A string dataset as slayer writes it (fixed-length array of one, or variable-length scalar)."""
    if key not in group:
        raise FormatError(f"{where}: missing {key!r}")
    value = group[key][()]
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise FormatError(f"{where}: {key!r} is not a single string")
        value = value.ravel()[0]
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _integer(group: h5py.Group, key: str, where: str, default: int | None = None) -> int:
    """A scalar integer parameter; one value per layer (netx's Lava LIF holds one)."""
    if key not in group:
        if default is None:
            raise FormatError(f"{where}: missing {key!r}")
        return default
    value = np.asarray(group[key][()])
    if value.size != 1:
        if np.unique(value).size != 1:
            raise NetxError(f"{where}: {key!r} differs between neurons; netx's Lava LIF takes one value per layer")
        value = value.ravel()[:1]
    number = float(value.ravel()[0])
    if number != int(number):
        raise FormatError(f"{where}: {key!r} = {number} is not an integer")
    return int(number)


def _input_width(group: h5py.Group, where: str) -> int:
    if "neuron" in group:
        raise NetxError(f"{where}: input layers with a neuron are not supported (netx drives that neuron "
                        f"through its bias and ignores the network input)")
    return int(np.prod(group["shape"][()])) if "shape" in group else 0


def _dense(group: h5py.Group, where: str) -> NetxLayer:
    for key, what in (("bias", "a bias"), ("delay", "axonal delays"), ("weight_rec", "recurrent weights")):
        if key in group:
            raise NetxError(f"{where}: dense layers with {what} are not supported")
    if "neuron" not in group:
        raise NetxError(f"{where}: a dense layer without a neuron is not supported")
    neuron = group["neuron"]
    kind = _text(neuron, "type", f"{where} neuron")
    if "RF" in kind:
        raise NetxError(f"{where}: {kind} neurons (Lava RF, phase-crossing spikes, one period and decay per "
                        f"layer) have no equivalent in s5rf-deploy's graphs or S5-RF layers")
    if kind not in ("CUBA", "LOIHI"):
        raise NetxError(f"{where}: neuron type {kind!r} is not supported (CUBA only)")
    if _integer(neuron, "messageBits", where, 0) or ("gradedSpike" in neuron and bool(neuron["gradedSpike"][()])):
        raise NetxError(f"{where}: graded spikes are not supported")
    if _integer(neuron, "refDelay", where, 1) != 1:
        raise NetxError(f"{where}: refDelay other than 1 is not supported (netx's Lava LIF has no refractory period)")
    if "weight" not in group or not isinstance(group["weight"], h5py.Dataset):
        raise FormatError(f"{where}: missing a real 'weight' matrix")
    weight = np.asarray(group["weight"][()], np.float64)
    size = int(np.prod(group["shape"][()])) if "shape" in group else weight.shape[0]
    if weight.ndim == 1 and size and weight.size % size == 0:
        weight = weight.reshape(size, -1)
    if weight.ndim != 2 or weight.shape[0] != size:
        raise FormatError(f"{where}: weight of shape {weight.shape} does not fit {size} neurons")
    if not np.all(np.isfinite(weight)) or np.any(weight != np.round(weight)):
        raise NetxError(f"{where}: weights must be integers (netx would truncate them)")
    return NetxLayer(weight.astype(np.int64), _integer(neuron, "iDecay", where), _integer(neuron, "vDecay", where),
                     _integer(neuron, "vThMant", where))


def read_netx(path: str | os.PathLike) -> NetxNetwork:
    """Read a netx HDF5 file of an optional ``input`` layer and ``dense`` CUBA layers."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    try:
        with h5py.File(p, "r") as f:
            if "layer" not in f or not isinstance(f["layer"], h5py.Group):
                raise FormatError(f"{p}: no 'layer' group; not a netx network")
            groups = f["layer"]
            if sorted(groups, key=lambda k: (len(k), k)) != [str(i) for i in range(len(groups))]:
                raise FormatError(f"{p}: layer groups must be named 0..{len(groups) - 1}")
            input_dim, layers = 0, []
            for i in range(len(groups)):
                where = f"{p}: layer {i}"
                kind = _text(groups[str(i)], "type", where)
                if kind == "input" and i == 0:
                    input_dim = _input_width(groups[str(i)], where)
                elif kind == "dense":
                    layers.append(_dense(groups[str(i)], where))
                    input_dim = input_dim or layers[0].weight.shape[1]
                else:
                    raise NetxError(f"{where}: layer type {kind!r} is not supported (an input layer, then dense)")
    except OSError as exc:
        raise FormatError(f"{p}: not a readable HDF5 file ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{p}: malformed netx file ({type(exc).__name__}: {exc})") from None
    net = NetxNetwork(input_dim, tuple(layers))
    net.validate(str(p))
    return net


# -- writing ---------------------------------------------------------------------------------------
def write_netx(net: NetxNetwork, path: str | os.PathLike) -> None:
    """Write ``net`` atomically in the layout slayer's ``export_hdf5`` uses (weights as float32)."""
    net.validate(str(path))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        first = f.create_group("layer/0")
        first.create_dataset("type", data=np.array([b"input"], "S10"))
        first.create_dataset("shape", data=np.array([net.input_dim]))
        for i, layer in enumerate(net.layers, start=1):
            g = f.create_group(f"layer/{i}")
            g.create_dataset("type", data=np.array([b"dense"], "S10"))
            g.create_dataset("shape", data=np.array([layer.size]))
            g.create_dataset("inFeatures", data=layer.weight.shape[1])
            g.create_dataset("outFeatures", data=layer.size)
            g.create_dataset("weight", data=layer.weight.astype(np.float32))
            for key, value in (("type", "CUBA"), ("iDecay", layer.i_decay), ("vDecay", layer.v_decay),
                               ("vThMant", layer.v_th_mant), ("refDelay", 1), ("gradedSpike", False)):
                g.create_dataset(f"neuron/{key}", data=value)


# -- bit-exact run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetxRun:
    """Per layer (N, T, n): spikes, and ``u``/``v`` after each step (``v`` after reset), as Lava reads them."""

    spikes: tuple[np.ndarray, ...]
    u: tuple[np.ndarray, ...]
    v: tuple[np.ndarray, ...]


def simulate_netx(net: NetxNetwork, inputs: np.ndarray) -> NetxRun:
    """Loihi's integer CUBA dynamics of ``net`` on binary ``inputs`` (N, T, input_dim), aligned with Lava.

    Step t of every layer is Lava step t + 1 of ``hdf5.Network`` fed by a
    ``RingBuffer`` holding the inputs: each ``Dense`` delivers the spikes of
    the step before, so layer l first sees input spike t at step t + l.
    """
    prev = check_spike_inputs(np.asarray(inputs), net.input_dim).astype(np.int64)
    spikes, us, vs = [], [], []
    for layer in net.layers:
        delayed = np.zeros_like(prev)
        delayed[:, 1:] = prev[:, :-1]
        drive = delayed @ layer.weight.T
        u = np.zeros(drive.shape[::2], np.int64)
        v = np.zeros_like(u)
        rec = np.zeros((3, *drive.shape), np.int64)
        for t in range(drive.shape[1]):
            u, v, s, _ = fx.lif_step(u, v, drive[:, t], layer.i_decay - fx.LIF_DS_OFFSET, layer.v_decay,
                                     layer.v_th_mant)
            rec[:, :, t] = s, u, v
        spikes.append(rec[0].astype(np.uint8))
        us.append(rec[1])
        vs.append(rec[2])
        prev = rec[0]
    return NetxRun(tuple(spikes), tuple(us), tuple(vs))


# -- netx -> NIR -----------------------------------------------------------------------------------
def _retention(decay: int) -> float:
    return 1.0 - decay / DECAY_UNITY


def _cuba_gain(tau_syn: float, tau_mem: float, dt: float) -> float:
    """``kappa``: how much of the current ``I(k dt)`` reaches ``v((k+1) dt)`` in a CubaLIF with ``r = 1``."""
    m = np.array([[-1 / tau_syn, 0.0], [1 / tau_mem, -1 / tau_mem]])
    return float(scipy.linalg.expm(m * dt)[1, 0])


def _neuron_node(layer: NetxLayer, dt: float, where: str) -> nir.NIRNode:
    """The NIR neuron whose exact discretization is the layer's recurrence (``v`` in units of ``<< 6``)."""
    n = layer.size
    theta, zero = np.full(n, float(layer.v_th_mant)), np.zeros(n)
    alpha = _retention(layer.v_decay)
    if layer.i_decay == DECAY_UNITY and layer.v_decay == 0:
        return nir.IF(r=np.full(n, 1 / dt), v_threshold=theta, v_reset=zero)
    tau_mem = -dt / np.log(alpha) if 0 < layer.v_decay < DECAY_UNITY else None
    if layer.i_decay == DECAY_UNITY and tau_mem is not None:
        return nir.LIF(tau=np.full(n, tau_mem), r=np.full(n, tau_mem / dt), v_leak=zero, v_threshold=theta,
                       v_reset=zero)
    if 0 < layer.i_decay < DECAY_UNITY and tau_mem is not None:
        tau_syn = -dt / np.log(_retention(layer.i_decay))
        return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem),
                           r=np.full(n, 1 / _cuba_gain(tau_syn, tau_mem, dt)), v_leak=zero, v_threshold=theta,
                           v_reset=zero, w_in=np.full(n, tau_syn / dt))
    raise NetxError(f"{where}: iDecay {layer.i_decay} with vDecay {layer.v_decay} has no NIR neuron (supported: "
                    f"0 < iDecay < 4096 with 0 < vDecay < 4096, or iDecay 4096 with 0 <= vDecay < 4096)")


def to_graph(net: NetxNetwork, dt: float = 1.0, source: str = "netx") -> GraphNetwork:
    """A :class:`GraphNetwork` whose exact simulation is ``net``'s recurrence in real arithmetic.

    Layer i becomes ``Linear(W) -> CubaLIF`` (the CubaLIF's one-step lag from
    current to voltage is netx's Dense latency), or for ``iDecay = 4096``
    ``Linear(W) -> Delay(dt) -> LIF`` (IF when ``vDecay = 0``).  Voltages and
    thresholds are in units of Loihi's ``<< 6``; ``dt`` only scales the time
    constants (1.0: time in netx steps).
    """
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([net.input_dim]))}
    edges, prev = [], "input"
    for i, layer in enumerate(net.layers):
        nodes[f"dense{i}"] = nir.Linear(weight=layer.weight.astype(np.float64))
        edges.append((prev, f"dense{i}"))
        prev = f"dense{i}"
        if layer.i_decay == DECAY_UNITY:
            nodes[f"delay{i}"] = nir.Delay(delay=np.full(layer.size, float(dt)))
            edges.append((prev, f"delay{i}"))
            prev = f"delay{i}"
        nodes[f"layer{i}"] = _neuron_node(layer, dt, f"{source}: layer {i}")
        edges.append((prev, f"layer{i}"))
        prev = f"layer{i}"
    nodes["output"] = nir.Output(output_type=np.array([net.layers[-1].size]))
    edges.append((prev, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges,
                         metadata={"dt": float(dt), "input_convention": "impulse", "source": "lava-dl netx"})
    return from_nir(graph)


# -- NIR -> netx -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerFit:
    """How one neuron node became integers: values x 2**scale_exp, rounded."""

    node: str
    scale_exp: int
    exact: bool  # every scaled weight and the threshold were integers (no rounding)
    weight_error: float  # max |rounded - scaled| / max |scaled| over the weights
    threshold_error: float  # |rounded - scaled| / scaled threshold
    decay_error: float  # max |retention after rounding - retention| over current and voltage (per step)


@dataclass(frozen=True)
class NetxExport:
    """A graph's netx integers, how they were fitted, and the output's time shift on netx."""

    network: NetxNetwork
    fits: tuple[LayerFit, ...]
    time_shift: int  # netx's spikes come this many steps after the graph's


def _uniform(node: nir.NIRNode, key: str, name: str) -> float:
    values = np.asarray(getattr(node, key), np.float64).ravel()
    if not np.allclose(values, values[0], rtol=1e-12, atol=0):
        raise NetxError(f"node {name!r}: {key} differs between neurons; a netx layer has one value")
    return float(values[0])


def _effective(node: nir.NIRNode, name: str, n: int, dt: float) -> tuple[np.ndarray, float, float]:
    """(per-neuron gain from a unit input impulse to the netx current, current and voltage retention)."""
    for key in ("v_leak", "v_reset"):
        if key in vars(node) and np.any(np.asarray(getattr(node, key)) != 0):
            raise NetxError(f"node {name!r}: nonzero {key} has no netx equivalent (Lava resets v to 0, no bias)")
    r = np.broadcast_to(np.asarray(node.r, np.float64).ravel(), (n,))
    if isinstance(node, nir.IF):
        return r * dt, 0.0, 1.0
    if isinstance(node, nir.LIF):
        tau = _uniform(node, "tau", name)
        return r * dt / tau, 0.0, float(np.exp(-dt / tau))
    tau_syn, tau_mem = _uniform(node, "tau_syn", name), _uniform(node, "tau_mem", name)
    w_in = np.broadcast_to(np.asarray(node.w_in, np.float64).ravel(), (n,))
    gain = _cuba_gain(tau_syn, tau_mem, dt) * r * w_in / tau_syn * dt
    return gain, float(np.exp(-dt / tau_syn)), float(np.exp(-dt / tau_mem))


def _fits(weight: np.ndarray, theta: float, k: int) -> bool:
    w, vth = np.round(weight * 2.0**k), round(theta * 2.0**k)
    return w.max() > 0 and w.min() >= WEIGHT_MIN and w.max() <= WEIGHT_MAX - int(w.min() < 0) and vth <= VTH_MAX


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= INTEGRAL_RTOL * np.maximum(1.0, np.abs(values))))


def _fit_layer(name: str, node: nir.NIRNode, weight: np.ndarray, dt: float) -> tuple[NetxLayer, LayerFit]:
    """Integers for one layer: the values themselves when they are integers that fit (Loihi units
    already, as in a network read from netx), else the largest power-of-two scale that fits."""
    gain, beta, alpha = _effective(node, name, weight.shape[0], dt)
    effective = gain[:, None] * weight
    theta = _uniform(node, "v_threshold", name)
    if theta < 0:
        raise NetxError(f"node {name!r}: a negative threshold has no netx equivalent")
    feasible = [k for k in SCALE_EXPONENTS if _fits(effective, theta, k)]
    if not feasible:
        raise NetxError(f"node {name!r}: no power-of-two scale fits its weights and threshold into netx's "
                        f"8-bit weights with a positive weight and vThMant <= {VTH_MAX}")
    values = np.append(effective, theta)
    k = 0 if 0 in feasible and _integral(values) else feasible[-1]
    scaled, scaled_theta = effective * 2.0**k, theta * 2.0**k
    w_int, vth = np.round(scaled).astype(np.int64), int(round(scaled_theta))
    i_decay, v_decay = (int(round(DECAY_UNITY * (1 - x))) for x in (beta, alpha))
    fit = LayerFit(name, k, _integral(values * 2.0**k),
                   float(np.abs(w_int - scaled).max() / np.abs(scaled).max()),
                   abs(vth - scaled_theta) / scaled_theta if scaled_theta else 0.0,
                   max(abs(_retention(i_decay) - beta), abs(_retention(v_decay) - alpha)))
    return NetxLayer(w_int, i_decay, v_decay, vth), fit


def _chain(net: GraphNetwork) -> list[str]:
    """Node names from the single Input to the single Output; refuse branches, merges and cycles."""
    if len(net.inputs) != 1 or len(net.outputs) != 1:
        raise NetxError("netx networks have one input and one output; the graph has "
                        f"{len(net.inputs)} Input and {len(net.outputs)} Output nodes")
    order = [net.inputs[0]]
    while order[-1] != net.outputs[0]:
        after = [t for s, t in net.edges if s == order[-1]]
        if len(after) != 1 or len(net.sources(after[0])) != 1 or after[0] in order:
            raise NetxError(f"node {order[-1]!r}: netx networks are chains of layers (no branches, skips or "
                            f"recurrence)")
        order.append(after[0])
    return order


def from_graph(net: GraphNetwork, dt: float | None = None) -> NetxExport:
    """netx integers for a chain ``Input -> (Linear|Affine(0 bias) -> [Delay] -> LIF|IF|CubaLIF)* -> Output``.

    Several Linear nodes in a row are multiplied; Delay nodes (multiples of
    dt) may sit anywhere.  netx adds one step per layer where the graph's LIF
    and IF react in the same step, and drops the graph's delays: the output
    is shifted by :attr:`NetxExport.time_shift` steps (0 for graphs from
    :func:`to_graph`).
    """
    dt = dt if dt is not None else net.dt
    if dt is None:
        raise NetxError("the graph has no dt in its metadata; pass the sampling period")
    if net.input_convention != "impulse":
        raise NetxError("netx inputs are spikes: the graph's input convention must be 'impulse'")
    layers, fits, weight, shift = [], [], None, 0
    for name in _chain(net)[1:]:
        node = net.nodes[name]
        if isinstance(node, (nir.Linear, nir.Affine)):
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                raise NetxError(f"node {name!r}: an Affine bias has no netx equivalent")
            matrix = np.atleast_2d(np.asarray(node.weight, np.float64))
            weight = matrix if weight is None else matrix @ weight
        elif isinstance(node, nir.Delay):
            steps = np.asarray(node.delay, np.float64).ravel() / dt
            if np.any(np.abs(steps - np.round(steps)) > 1e-6) or np.unique(np.round(steps)).size != 1:
                raise NetxError(f"node {name!r}: delays must be one multiple of dt for all channels")
            shift -= int(round(steps[0]))
        elif isinstance(node, (nir.IF, nir.LIF, nir.CubaLIF)):
            width = layers[-1].size if layers else net.input_dim
            layer, fit = _fit_layer(name, node, np.eye(width) if weight is None else weight, dt)
            layers.append(layer)
            fits.append(fit)
            shift += not isinstance(node, nir.CubaLIF)
            weight = None
        elif isinstance(node, nir.Output):
            if weight is not None or not layers:
                raise NetxError("the Output must read the spikes of a neuron layer directly")
        else:
            raise NetxError(f"node {name!r} ({type(node).__name__}) has no netx equivalent (netx layers are "
                            f"Lava CUBA LIF neurons: LIF, IF or CubaLIF after Linear weights)")
    result = NetxNetwork(net.input_dim, tuple(layers))
    result.validate("graph")
    return NetxExport(result, tuple(fits), shift)
