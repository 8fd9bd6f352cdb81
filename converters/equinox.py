"""Import reference S5-RF checkpoints (JAX/Equinox ``Classifier``) without JAX.

``eqx.tree_serialise_leaves`` writes the model's pytree leaves in flattening
order, each array or Python bool/int/float as one ``.npy`` record; strings and
static fields (such as V) are not written.  The record sequence of a
``Classifier`` with L RF layers is documented in ``docs/reference-checkpoints.md``;
:func:`reference_schema` builds it from the constructor arguments, and the
reader checks every record against it before anything is used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s5rf_deploy.errors import ConfigError, FormatError
from s5rf_deploy.s5rf.checkpoint import model_from_arrays
from s5rf_deploy.s5rf.config import ModelConfig
from s5rf_deploy.s5rf.model import S5RFModel


@dataclass(frozen=True)
class Record:
    """One expected ``.npy`` record: its pytree path, kind and (for arrays) shape."""

    path: str
    kind: str  # "array", "bool", "float" or "int"
    shape: tuple[int, ...] = ()


def reference_schema(cfg: ModelConfig) -> list[Record]:
    """The records ``tree_serialise_leaves`` writes for a reference ``Classifier``."""
    records = []
    for i in range(cfg.num_layers):
        shape = (cfg.num_neurons[i], cfg.layer_input_dim(i), 2)
        records += [Record(f"dense_layers[{i}].B", "array", shape),
                    Record(f"dense_layers[{i}].keep_imag", "bool")]
    for i in range(cfg.num_layers):
        p = cfg.num_neurons[i]
        records += [Record(f"neuron_layers[{i}].Lambda", "array", (p, 2)),
                    Record(f"neuron_layers[{i}].log_step", "array", (p, 1)),
                    Record(f"neuron_layers[{i}].keep_imag", "bool"),
                    Record(f"neuron_layers[{i}].step_rescale", "float")]
    records += [Record("drop.p", "float"), Record("drop.inference", "bool"),
                Record("output_dense.B", "array", (cfg.output_dim, cfg.num_neurons[-1], 2)),
                Record("output_dense.keep_imag", "bool"),
                Record("li.tau", "array", (cfg.output_dim,)), Record("li.dim", "int"),
                Record("apply_skip", "bool"), Record("dense_dropout", "bool")]
    return records


def _kind_of(value: np.ndarray) -> str:
    if value.dtype == np.bool_:
        return "bool"
    if value.ndim == 0 and np.issubdtype(value.dtype, np.integer):
        return "int"
    if value.ndim == 0 and np.issubdtype(value.dtype, np.floating):
        return "float"
    return "array"


def read_records(path: str | os.PathLike, schema: list[Record]) -> dict[str, np.ndarray]:
    """Read the ``.npy`` records of an ``.eqx`` file and check them against ``schema``."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    size = p.stat().st_size
    values: dict[str, np.ndarray] = {}
    with open(p, "rb") as f:
        for rec in schema:
            if f.tell() >= size:
                raise FormatError(f"{p}: ends before record {rec.path!r}; truncated, or the config "
                                  f"does not match this checkpoint")
            try:
                value = np.lib.format.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise FormatError(f"{p}: record {rec.path!r} is unreadable ({exc})") from None
            kind = _kind_of(value)
            if kind != rec.kind or (rec.kind == "array" and value.shape != rec.shape):
                found = f"{kind} {value.shape}" if kind == "array" else kind
                wanted = f"{rec.kind} {rec.shape}" if rec.kind == "array" else rec.kind
                raise FormatError(f"{p}: record {rec.path!r} is {found}, the config implies {wanted}")
            if rec.kind == "array" and not np.all(np.isfinite(value)):
                raise FormatError(f"{p}: record {rec.path!r} contains NaN or Inf")
            values[rec.path] = value
        if f.tell() != size:
            raise FormatError(f"{p}: {size - f.tell()} bytes left after the last record; "
                              f"the config does not match this checkpoint")
    return values


def _check_flag(values: dict[str, np.ndarray], path: str, expected: bool, key: str, source: Path) -> None:
    if bool(values[path]) != expected:
        raise FormatError(f"{source}: {path} is {bool(values[path])} but config {key} is {expected}")


def load_reference(path: str | os.PathLike, config: str | os.PathLike | dict) -> S5RFModel:
    """A float model equal to the reference ``Classifier`` stored in ``path``.

    ``config`` is the JSON file (or dict) of the constructor arguments.  V of a
    zoh layer 0 is not stored; it is rebuilt from the config like the reference.
    """
    p = Path(path)
    if isinstance(config, dict):
        raw = config
    else:
        try:
            raw = json.loads(Path(config).read_text())
        except OSError as exc:
            raise FormatError(f"{config}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise FormatError(f"{config}: invalid JSON ({exc})") from None
    try:
        cfg = ModelConfig.from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{config}: {exc}") from None
    values = read_records(p, reference_schema(cfg))
    _check_flag(values, "apply_skip", cfg.apply_skip, "apply_skip", p)
    _check_flag(values, "dense_dropout", cfg.dense_dropout, "dense_dropout", p)
    for i in range(cfg.num_layers):
        _check_flag(values, f"dense_layers[{i}].keep_imag", cfg.keep_imag, "keep_imag", p)
    if int(values["li.dim"]) != cfg.output_dim:
        raise FormatError(f"{p}: li.dim is {int(values['li.dim'])} but config output_dim is {cfg.output_dim}")
    template = S5RFModel(cfg).state_dict()
    arrays = {k: v.numpy() for k, v in template.items() if k.endswith((".V", ".threshold"))}
    for i in range(cfg.num_layers):
        lam = values[f"neuron_layers[{i}].Lambda"]
        arrays[f"layers.{i}.B"] = values[f"dense_layers[{i}].B"]
        arrays[f"layers.{i}.log_neg_real"] = lam[:, 0]
        arrays[f"layers.{i}.imag"] = lam[:, 1]
        arrays[f"layers.{i}.log_step"] = values[f"neuron_layers[{i}].log_step"][:, 0]
    arrays["readout_weight"] = values["output_dense.B"][..., 0]
    arrays["tau"] = values["li.tau"]
    model = model_from_arrays(cfg, arrays, str(p))
    model.dropout.p = float(values["drop.p"])
    return model


