"""Load a float S5-RF model from any supported file, chosen by content and suffix."""

from __future__ import annotations

import os
from pathlib import Path

from s5rf_deploy import checkpoint, container
from s5rf_deploy.errors import FormatError, S5RFError
from s5rf_deploy.model import S5RFModel


def load_model(path: str | os.PathLike, config: str | os.PathLike | None = None) -> S5RFModel:
    """A native checkpoint, or a reference ``.eqx`` file with its JSON ``config``."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such file")
    if p.suffix == ".eqx":
        if config is None:
            raise S5RFError(f"{p}: a reference .eqx checkpoint needs --config CONFIG.json")
        from s5rf_deploy.converters.equinox import load_reference

        return load_reference(p, config)
    kind = container.peek_kind(p)
    if kind == checkpoint.KIND:
        return checkpoint.load_checkpoint(p)
    if kind is None:
        raise FormatError(f"{p}: not a model file this tool can read")
    raise FormatError(f"{p}: holds a {kind!r}, not a float model")
