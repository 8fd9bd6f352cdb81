"""Native checkpoints of the float S5-RF model: config + parameters + format version."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from s5rf_deploy import container
from s5rf_deploy.errors import ConfigError, FormatError
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel

KIND = "s5rf-float-model"
VERSION = 1
SUFFIX = ".s5rf"


def save_checkpoint(model: S5RFModel, path: str | os.PathLike, provenance: dict[str, Any] | None = None) -> None:
    """Write ``model`` (config, all parameters and buffers) to ``path`` atomically."""
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    meta = {"config": model.config.to_dict(), "provenance": provenance or {}}
    container.save(path, KIND, VERSION, meta, arrays)


def model_from_arrays(config: ModelConfig, arrays: dict[str, np.ndarray], source: str) -> S5RFModel:
    """Build a model of ``config`` and fill it with ``arrays``; name any mismatch."""
    model = S5RFModel(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing:
        raise FormatError(f"{source}: missing tensor {missing[0]!r} for this config")
    if unexpected:
        raise FormatError(f"{source}: unexpected tensor {unexpected[0]!r} for this config")
    state = {}
    for name, ref in expected.items():
        value = arrays[name]
        if tuple(value.shape) != tuple(ref.shape):
            raise FormatError(
                f"{source}: tensor {name!r} has shape {tuple(value.shape)}, config needs {tuple(ref.shape)}"
            )
        kind = "c" if ref.is_complex() else "f"
        if value.dtype.kind != kind:
            raise FormatError(f"{source}: tensor {name!r} holds {value.dtype} values, expected "
                              f"{'complex' if kind == 'c' else 'real floating-point'} numbers")
        state[name] = torch.from_numpy(np.array(value)).to(ref.dtype)
        if not torch.isfinite(state[name]).all():
            raise FormatError(f"{source}: tensor {name!r} contains NaN or Inf (or values too large for "
                              f"{str(ref.dtype).removeprefix('torch.')})")
    model.load_state_dict(state)
    model.eval()
    return model


def load_checkpoint(path: str | os.PathLike) -> S5RFModel:
    """Load a native checkpoint written by :func:`save_checkpoint`."""
    meta, arrays = container.load(path, KIND, VERSION)
    if "config" not in meta:
        raise FormatError(f"{path}: no model config in its metadata")
    try:
        config = ModelConfig.from_dict(meta["config"])
    except ConfigError as exc:
        raise FormatError(f"{path}: bad model config ({exc})") from None
    model = model_from_arrays(config, arrays, str(path))
    model.provenance = meta.get("provenance", {})
    return model
