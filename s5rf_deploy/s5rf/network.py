"""The network description every stage passes along: S5-RF layers and readout, in float64.

Load -> NIR -> quantize -> backends -> compare all exchange an
:class:`S5RFNetwork`.  It keeps the raw parameters of the reference
(``B``, ``log(-Re lambda)``, ``Im lambda``, ``log Delta``) so that nothing is
lost, and derives the discrete quantities (poles ``lambda_bar`` and the
discrete input matrix) in one place.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from s5rf_deploy.errors import ConfigError
from s5rf_deploy.s5rf.config import MAX_SPIKE_BITS, ModelConfig, spike_levels

if TYPE_CHECKING:
    import torch


class StabilityWarning(UserWarning):
    """A float network runs, but a state of it never decays (``|lambda_bar| >= 1``)."""


@dataclass(frozen=True)
class RFLayer:
    """One population of S5-RF neurons and its input weights."""

    weight: np.ndarray  # complex128 (P, H): continuous input weights B
    log_neg_real: np.ndarray  # float64 (P,): a with Re(lambda) = -exp(a)
    imag: np.ndarray  # float64 (P,): Im(lambda)
    log_step: np.ndarray  # float64 (P,): log Delta
    discretization: str  # "dirac" | "zoh" | "bilinear"
    keep_imag: bool
    spike: str  # "cartesian" | "polar"
    skip: bool  # output = spikes + input
    threshold: float = 1.0
    mixing: np.ndarray | None = None  # complex128 (P, P) output mixing V, None = identity
    spike_bits: int = 1  # > 1: sends the count of thresholds exceeded, up to 2^spike_bits - 1

    @property
    def levels(self) -> int:
        """The largest output: 1 for binary spikes, ``2^spike_bits - 1`` for multi-bit outputs."""
        return spike_levels(self.spike_bits)

    @property
    def num_neurons(self) -> int:
        return self.weight.shape[0]

    @property
    def input_dim(self) -> int:
        return self.weight.shape[1]

    def eigenvalues(self) -> np.ndarray:
        """Continuous eigenvalues ``lambda`` (complex128, (P,))."""
        return -np.exp(self.log_neg_real) + 1j * self.imag

    def step(self) -> np.ndarray:
        return np.exp(self.log_step)

    def discretized(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lambda_bar (P,), input matrix (P, H))``: ``z[t] = lambda_bar z[t-1] + M u[t]``."""
        import torch

        from s5rf_deploy.s5rf.discretization import discretize

        lam_bar, gain = discretize(self.discretization, torch.from_numpy(self.eigenvalues()),
                                   torch.from_numpy(self.step()))
        used = self.weight if self.keep_imag else self.weight.real.astype(np.complex128)
        return lam_bar.numpy(), gain.numpy()[:, None] * used


@dataclass(frozen=True)
class Readout:
    """Linear readout into leaky integrators ``y[t] = leak * y[t-1] + W s[t]``."""

    weight: np.ndarray  # float64 (C, P)
    leak: np.ndarray  # float64 (C,), in (0, 1)


@dataclass(frozen=True)
class S5RFNetwork:
    """An S5-RF classifier: RF layers in order, then the readout (time mean, argmax)."""

    layers: tuple[RFLayer, ...]
    readout: Readout
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def input_dim(self) -> int:
        return self.layers[0].input_dim

    @property
    def num_classes(self) -> int:
        return self.readout.weight.shape[0]

    def unstable_pole(self) -> str | None:
        """A description of the first pole with ``|lambda_bar| >= 1`` (a state that never decays), or None."""
        for i, layer in enumerate(self.layers):
            magnitude = np.abs(layer.discretized()[0])
            if np.any(magnitude >= 1):
                j = int(np.argmax(magnitude >= 1))
                return f"layer {i}: neuron {j} has an unstable pole |lambda_bar| = {magnitude[j]:.17g} >= 1"
        return None

    def validate(self, stable: bool = True) -> None:
        """Raise :class:`ConfigError` on inconsistent shapes, non-finite values, steps that are not
        positive and (if ``stable``) poles with ``|lambda_bar| >= 1``."""
        width = self.input_dim
        for i, layer in enumerate(self.layers):
            if layer.input_dim != width:
                raise ConfigError(f"layer {i}: expects {layer.input_dim} inputs, gets {width}")
            for name in ("weight", "log_neg_real", "imag", "log_step"):
                if not np.all(np.isfinite(getattr(layer, name))):
                    raise ConfigError(f"layer {i}: {name} contains NaN or Inf")
            if np.any(layer.step() <= 0):
                j = int(np.argmax(layer.step() <= 0))
                raise ConfigError(f"layer {i}: neuron {j} has step Delta = 0 (log_step {layer.log_step[j]:g} "
                                  f"underflows); steps must be positive")
            if not (isinstance(layer.spike_bits, int) and 1 <= layer.spike_bits <= MAX_SPIKE_BITS):
                raise ConfigError(f"layer {i}: spike_bits must be 1 to {MAX_SPIKE_BITS}, got {layer.spike_bits!r}")
            if layer.skip and layer.num_neurons != width:
                raise ConfigError(f"layer {i}: skip connection needs {width} neurons, has {layer.num_neurons}")
            width = layer.num_neurons
        if self.readout.weight.shape[1] != width:
            raise ConfigError(f"readout: expects {self.readout.weight.shape[1]} inputs, gets {width}")
        if not np.all((self.readout.leak > 0) & (self.readout.leak < 1)):
            raise ConfigError("readout: leak factors must lie in (0, 1)")
        problem = self.unstable_pole() if stable else None
        if problem:
            raise ConfigError(f"{problem}; deployment (NIR, fixed point, Lava) needs |lambda_bar| < 1")


def network_from_model(model) -> S5RFNetwork:
    """The float64 description of an :class:`~s5rf_deploy.s5rf.model.S5RFModel`."""
    cfg: ModelConfig = model.config

    def arr(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().double().numpy().copy()

    layers = []
    for i, m in enumerate(model.layers):
        b = arr(m.B)
        layers.append(RFLayer(
            weight=b[..., 0] + 1j * b[..., 1], log_neg_real=arr(m.log_neg_real), imag=arr(m.imag),
            log_step=arr(m.log_step), discretization=m.discretization, keep_imag=m.keep_imag,
            spike=m.spike_rule, skip=cfg.has_skip(i), threshold=float(m.threshold),
            mixing=None if m.V is None else m.V.detach().cpu().numpy().astype(np.complex128),
            spike_bits=m.spike_bits,
        ))
    readout = Readout(arr(model.readout_weight), arr(model.readout_leak()))
    return S5RFNetwork(tuple(layers), readout, {"config": cfg.to_dict(), **getattr(model, "provenance", {})})


def model_from_network(net: S5RFNetwork, dtype: torch.dtype | None = None):
    """A torch :class:`~s5rf_deploy.s5rf.model.S5RFModel` with exactly the network's parameters (float64 unless
    ``dtype`` says otherwise)."""
    import torch

    from s5rf_deploy.s5rf.model import S5RFModel

    dtype = torch.float64 if dtype is None else dtype

    net.validate(stable=False)
    problem = net.unstable_pole()
    if problem:
        warnings.warn(f"{problem}: its state never decays", StabilityWarning, stacklevel=2)
    first = net.layers[0]
    skips = [layer.skip for layer in net.layers]
    apply_skip = any(skips)
    cfg = ModelConfig(
        input_dim=net.input_dim, output_dim=net.num_classes,
        num_neurons=tuple(layer.num_neurons for layer in net.layers),
        num_blocks=(1,) * len(net.layers), discretization=first.discretization,
        keep_imag=first.keep_imag, spike=first.spike, apply_skip=apply_skip, spike_bits=first.spike_bits,
    )
    expected = [cfg.has_skip(i) for i in range(len(net.layers))]
    uniform = all((layer.keep_imag, layer.spike, layer.spike_bits) == (first.keep_imag, first.spike, first.spike_bits)
                  for layer in net.layers)
    later_dirac = all(layer.discretization == "dirac" for layer in net.layers[1:])
    mixing_ok = all(layer.mixing is None for layer in net.layers[1:])
    if skips != expected or not uniform or not later_dirac or not mixing_ok:
        raise ConfigError("network is not an S5-RF classifier the torch model can express "
                          "(skips on layers 1..L-2, shared keep_imag/spike rule/spike_bits, dirac after layer 0)")
    model = S5RFModel(cfg)
    for m in model.layers:
        m.V = None  # replaced below; keeps the real-dtype cast from touching complex buffers
    model = model.to(dtype)
    with torch.no_grad():
        for layer, m in zip(net.layers, model.layers, strict=True):
            m.B.copy_(torch.from_numpy(np.stack([layer.weight.real, layer.weight.imag], -1)))
            m.log_neg_real.copy_(torch.from_numpy(layer.log_neg_real))
            m.imag.copy_(torch.from_numpy(layer.imag))
            m.log_step.copy_(torch.from_numpy(layer.log_step))
            m.threshold.fill_(layer.threshold)
            m.V = None if layer.mixing is None else torch.from_numpy(layer.mixing)
        model.readout_weight.copy_(torch.from_numpy(net.readout.weight))
        leak = net.readout.leak
        model.tau.copy_(torch.from_numpy(np.log(leak) - np.log1p(-leak)))
    model.provenance = dict(net.provenance)
    return model.eval()
