"""Corruptions of stored containers, shared by the artifact and fuzz tests: junk JSON values, damaged arrays,
edits written without validation, and the one-line refusal they must get."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from s5rf_deploy import container
from s5rf_deploy.errors import FormatError


def junk(rng: np.random.Generator) -> Any:
    """A JSON value of a random kind."""
    return [0, -1, 3, 1e9, -0.5, "x", None, [], [2, 2], {"a": 1}, True][rng.integers(11)]


def read(path: Path, kind: str) -> tuple[dict, dict[str, np.ndarray]]:
    """A container's metadata (without the container's own keys) and arrays, to edit and :func:`write`."""
    header, arrays = container.load(path, kind, 1)
    return {k: v for k, v in header.items() if k not in ("format", "kind", "version")}, arrays


def write(path: Path, kind: str, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    container.save(path, kind, 1, meta, arrays)
    return path


def replace_field(meta: dict, rng: np.random.Generator) -> None:
    """Replace one metadata value at any depth (a dict entry or list item; the embedded profile is left alone,
    its loader has tests of its own) with junk."""
    fields: list[tuple[dict | list, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if node is meta and key == "profile":
                continue
            fields.append((node, key))
            walk(value)

    walk(meta)
    parent, key = fields[rng.integers(len(fields))]
    parent[key] = junk(rng)


def corrupt_array(arrays: dict[str, np.ndarray], rng: np.random.Generator, how: int) -> None:
    """Damage one array: an out-of-range element (``how`` 0), another dtype (1), another shape (2), or gone."""
    key = sorted(arrays)[rng.integers(len(arrays))]
    value = arrays[key]
    if how == 0 and value.size:
        arrays[key] = value.astype(np.float64 if value.dtype.kind == "f" else np.int64)
        arrays[key].flat[rng.integers(value.size)] = rng.choice([-(2**40), -1, 2**40])
    elif how == 1:
        arrays[key] = value.astype(rng.choice([np.float64, np.bool_, np.complex64, np.int8, np.uint64]))
    elif how == 2:
        arrays[key] = value.reshape(-1)[: max(value.size - 1, 0)] if rng.integers(2) else value[..., None]
    else:
        del arrays[key]


def corrupt(good: Path, folder: Path, kind: str, edit: Callable[[dict, dict], None]) -> Path:
    """The artifact ``good`` with ``edit(meta, arrays)`` applied, written without validation."""
    meta, arrays = read(good, kind)
    edit(meta, arrays)
    return write(folder / "bad.fxp", kind, meta, arrays)


def refused(path: Path | str, message: str, call: Callable[[], object]) -> None:
    """``call()`` raises a one-line FormatError naming ``path`` and holding ``message``."""
    with pytest.raises(FormatError) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text, text


def top(key: str, value) -> Callable[[dict, dict], None]:
    """An edit for :func:`corrupt`: metadata key ``key`` set to ``value``."""
    return lambda meta, arrays: meta.__setitem__(key, value)


def stage(k: int, key: str, value) -> Callable[[dict, dict], None]:
    """An edit: stage ``k``'s ``key`` set to ``value``."""
    return lambda meta, arrays: meta["stages"][k].__setitem__(key, value)


def synapse(k: int, j: int, key: str, value) -> Callable[[dict, dict], None]:
    """An edit: input synapse ``j`` of stage ``k`` gets ``key`` = ``value``."""
    return lambda meta, arrays: meta["stages"][k]["inputs"][j].__setitem__(key, value)


def array(name: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict, dict], None]:
    """An edit: array ``name`` replaced by ``change(array)``."""
    return lambda meta, arrays: arrays.__setitem__(name, change(arrays[name]))
