"""The one on-disk container of s5rf-deploy: a zip of ``.npy`` arrays plus JSON metadata.

Readable without pickle (``allow_pickle=False``), so loading an untrusted file
cannot execute code.  Every file records a ``kind`` (what it holds) and a
format ``version``; readers check both and name any problem in one line.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import FormatError

FORMAT = "s5rf-deploy"
META_KEY = "__meta__"


def save(path: str | os.PathLike, kind: str, version: int, meta: dict[str, Any],
         arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``meta`` atomically to ``path``."""
    header = {"format": FORMAT, "kind": kind, "version": version, **meta}
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{META_KEY: blob}, **{k: np.asarray(v) for k, v in sorted(arrays.items())})


def load(path: str | os.PathLike, kind: str, version: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a container of the given ``kind``; return ``(meta, arrays)``."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise FormatError(f"{p}: not a readable {FORMAT} file ({exc})") from None
    if META_KEY not in arrays:
        raise FormatError(f"{p}: not a {FORMAT} file (no metadata record)")
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{p}: corrupted metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FormatError(f"{p}: not a {FORMAT} file")
    if meta.get("kind") != kind:
        raise FormatError(f"{p}: holds a {meta.get('kind')!r}, expected a {kind!r}")
    if meta.get("version") != version:
        raise FormatError(
            f"{p}: {kind} format version {meta.get('version')} is not supported (expected {version})"
        )
    return meta, arrays


def peek_kind(path: str | os.PathLike) -> str | None:
    """The ``kind`` recorded in a container, or None if ``path`` is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if META_KEY not in data.files:
                return None
            meta = json.loads(data[META_KEY].tobytes().decode())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError):
        return None
    return meta.get("kind") if isinstance(meta, dict) and meta.get("format") == FORMAT else None
