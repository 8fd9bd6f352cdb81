"""The one on-disk container of s5rf-deploy: a zip of ``.npy`` arrays plus JSON metadata.

Readable without pickle (``allow_pickle=False``), so loading an untrusted file
cannot execute code.  Every file records a ``kind`` (what it holds) and a
format ``version``; readers check both and name any problem in one line.
Writers are reproducible: members in name order, zip timestamps fixed by numpy.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from s5rf_deploy.atomic import atomic_path
from s5rf_deploy.errors import FormatError

FORMAT = "s5rf-deploy"
META_KEY = "__meta__"
ZIP_MAGIC = b"PK"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError)


def save(path: str | os.PathLike, kind: str, version: int, meta: dict[str, Any],
         arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``meta`` atomically to ``path``."""
    header = {"format": FORMAT, "kind": kind, "version": version, **meta}
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{META_KEY: blob}, **{k: np.asarray(v) for k, v in sorted(arrays.items())})


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(ZIP_MAGIC)) == ZIP_MAGIC


def _reason(exc: Exception) -> str:
    """A short description of a read error (zip's "not a zip file" means the directory at the end is gone)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile) and "not a zip file" in text:
        return "the zip directory at its end is missing"
    return text if len(text) <= 100 else text[:100] + "..."


@contextlib.contextmanager
def open_npz(path: str | os.PathLike, what: str) -> Iterator[np.lib.npyio.NpzFile]:
    """``np.load`` of a zip of arrays (``what``, such as "dataset .npz file", names it in errors).

    Missing, empty, non-zip, truncated and corrupted files (also when a member is
    read inside the ``with`` block) raise one-line :class:`FormatError`.
    """
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FormatError(f"{p}: not a readable {what} (empty file)")
    if not _is_zip(p):
        raise FormatError(f"{p}: not a readable {what} (no zip archive)")
    try:
        with np.load(p, allow_pickle=False) as data:
            yield data
    except _READ_ERRORS as exc:
        raise FormatError(f"{p}: not a readable {what}: truncated or corrupted ({_reason(exc)})") from None


def _meta(p: Path, raw: np.ndarray) -> dict[str, Any]:
    try:
        meta = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{p}: corrupted metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FormatError(f"{p}: not a {FORMAT} file")
    return meta


def load(path: str | os.PathLike, kind: str, version: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a container of the given ``kind``; return ``(meta, arrays)``."""
    p = Path(path)
    with open_npz(p, f"{FORMAT} file") as data:
        arrays = {k: data[k] for k in data.files}
    if META_KEY not in arrays:
        raise FormatError(f"{p}: not a {FORMAT} file (no metadata record)")
    meta = _meta(p, arrays.pop(META_KEY))
    if meta.get("kind") != kind:
        raise FormatError(f"{p}: holds a {meta.get('kind')!r}, expected a {kind!r}")
    if meta.get("version") != version:
        raise FormatError(
            f"{p}: {kind} format version {meta.get('version')} is not supported (expected {version})"
        )
    return meta, arrays


def peek_kind(path: str | os.PathLike) -> str | None:
    """The ``kind`` recorded in a container; None if ``path`` is no zip archive or holds no container
    metadata.  A damaged archive raises :class:`FormatError`."""
    p = Path(path)
    if not p.is_file() or (p.stat().st_size and not _is_zip(p)):
        return None  # missing, or some other format (an empty file is reported as such below)
    with open_npz(p, f"{FORMAT} file") as data:
        if META_KEY not in data.files:
            return None
        raw = data[META_KEY]
    return _meta(p, raw).get("kind")
