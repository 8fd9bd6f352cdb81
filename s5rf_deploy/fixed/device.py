"""Where a stepper runs: its kernel set, numpy and the compiled kernels on the CPU, or torch on any device.

A stepper (S5-RF or graph) is written once against a :class:`Kernels` object chosen
from its ``device``: ``cpu`` (the default) is the numpy/numba path as it is; ``cuda``,
``cuda:N`` and ``torch-cpu`` run the torch forms of :mod:`s5rf_deploy.fixed.arithmetic`
with states in device tensors, synaptic sums as float64 matrix products on the device
(:class:`DevicePort`) and traces copied back once per batch, so a run gives the same
integers (docs/fixed-point.md, "Devices").  ``torch-cpu`` runs the GPU's code on the CPU,
to check that path without a GPU.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.fixed import arithmetic as fx
from s5rf_deploy.fixed.engine import DelayLines, Port

if TYPE_CHECKING:
    import torch
    from torch import Tensor

DEVICES = "cpu, torch-cpu, cuda or cuda:N"
EXACT_PRODUCT = 2**53  # float64 sums are exact below this magnitude


def torch_device(device: str) -> str | None:
    """The torch device of a stepper ``device`` (None: the numpy path); refuses unknown names and CUDA devices
    this machine lacks with an :class:`S5RFError`."""
    if device == "cpu":
        return None
    if device == "torch-cpu":
        return "cpu"
    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise S5RFError(f"unknown device {device!r}: give {DEVICES}")
    import torch

    if not torch.cuda.is_available():
        raise S5RFError(f"device {device}: no CUDA GPU is available here (torch.cuda.is_available() is false)")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise S5RFError(f"device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


class Kernels:
    """The numpy/numba path: arrays as they are, the compiled kernels, :class:`Port` and :class:`DelayLines`."""

    rf_update: Callable[..., Any] = fx.RFUpdate
    readout: Callable[..., Any] = fx.LavaLIFStep
    lif_step = staticmethod(fx.lif_step)

    def zeros(self, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        return np.zeros(shape, dtype)

    def put(self, x: np.ndarray) -> np.ndarray:
        """``x`` where the states live."""
        return x

    def get(self, x: Any) -> np.ndarray:
        """``x`` as a numpy array."""
        return np.asarray(x)

    def port(self, port: Port) -> Port:
        return port

    def delay_lines(self, widths: dict[tuple[int, str], int], length: int, n: int,
                    bound: Callable[[int], int]) -> DelayLines:
        return DelayLines(widths, length, n, bound, self.zeros)

    def running(self) -> contextlib.AbstractContextManager:
        """Around a time loop: nothing to set up here."""
        return contextlib.nullcontext()


class TorchKernels(Kernels):
    """The torch path on ``device``: tensors, the ``*_torch`` forms of the arithmetic, :class:`DevicePort`."""

    lif_step = staticmethod(fx.lif_step_torch)

    def __init__(self, device: str) -> None:
        import torch

        self.torch, self.device = torch, torch.device(device)

    def rf_update(self, *args: Any) -> fx.RFUpdateTorch:
        return fx.RFUpdateTorch(*args, device=self.device)

    def readout(self, *args: Any) -> fx.LavaLIFStepTorch:
        return fx.LavaLIFStepTorch(*args, device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: type) -> Tensor:
        return self.torch.zeros(shape, dtype=_torch_dtype(dtype), device=self.device)

    def put(self, x: np.ndarray) -> Tensor:
        x = np.ascontiguousarray(x)
        return self.torch.from_numpy(x if x.flags.writeable else x.copy()).to(self.device)

    def get(self, x: Tensor) -> np.ndarray:
        return x.cpu().numpy()

    def port(self, port: Port) -> DevicePort:
        return DevicePort(port, self.device)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Around a time loop: on the CPU, torch on one thread, as it was after (its thread pool cost 10-30 ms per
        step of a 2 x 128 network at batch 1 on a loaded 2-core machine, against 0.2 ms on one thread)."""
        if self.device.type != "cpu":
            yield
            return
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            yield
        finally:
            self.torch.set_num_threads(threads)


def _torch_dtype(dtype: type) -> torch.dtype:
    import torch

    return {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64,
            np.uint8: torch.uint8}[dtype]


def kernels_for(device: str) -> Kernels:
    """The kernel set of a stepper ``device`` (see :func:`torch_device`)."""
    target = torch_device(device)
    return Kernels() if target is None else TorchKernels(target)


class DevicePort:
    """A :class:`Port`'s products (its merged synapses and folded digits) as float64 matrix products on a torch
    device: exact, whatever the summation order, as every sum is an integer below 2**53 (the bound the port
    computed).  A product that would need int64 is refused, not run inexactly."""

    def __init__(self, port: Port, device: torch.device) -> None:
        import torch

        self.size, self.device = port.size, device
        self.products = []
        for keys, w_t, exps, *_ in port.products:
            if w_t.dtype.kind != "f":
                raise S5RFError(f"a synaptic sum of this network may reach {EXACT_PRODUCT} (inexact in float64): "
                                f"run it with device cpu")
            self.products.append((keys, torch.as_tensor(w_t, dtype=torch.float64, device=device), exps))

    def inputs(self, lines: DelayLines, n: int) -> Tensor:
        """The summed synaptic input of the population at this step, float64 (exact integers)."""
        import torch

        out = None
        for keys, w_t, exps in self.products:
            x = lines.sent(*keys[0]).to(torch.float64)
            for key, delay in keys[1:]:
                x = x + lines.sent(key, delay)
            acc = x @ w_t
            for j, exp in enumerate(exps):
                term = fx.dense_output_torch(acc[:, j * self.size:(j + 1) * self.size], exp)
                out = term if out is None else out + term
        return torch.zeros((n, self.size), dtype=torch.float64, device=self.device) if out is None else out
