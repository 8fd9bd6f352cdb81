"""Which backend and precision a ``simulate`` call means.  Imports nothing heavy: the CLI asks it about an
artifact before loading anything, so that a wrong combination is refused at once."""

from __future__ import annotations

import os
from pathlib import Path

from s5rf_deploy import container
from s5rf_deploy.errors import S5RFError

NOT_CONTAINERS = (".nir", ".eqx", ".net", ".h5", ".hdf5")  # model files of other formats (NIR, Equinox, netx)


def artifact_kind(path: str | os.PathLike) -> str | None:
    """The container kind of the fixed-point artifact at ``path`` (S5-RF or standard graph), else None."""
    from s5rf_deploy.graphs.artifact import KIND as GRAPH_KIND
    from s5rf_deploy.s5rf.artifact import KIND as S5RF_KIND

    p = Path(path)
    kind = container.peek_kind(p) if p.is_file() and p.suffix not in NOT_CONTAINERS else None
    return kind if kind in (S5RF_KIND, GRAPH_KIND) else None


def choose_backend(fixed: bool, s5rf: bool, backend: str | None, precision: str | None) -> tuple[str, str]:
    """The (backend, precision) for a network that is a fixed-point artifact (``fixed``) or not, of the S5-RF
    family (``s5rf``) or a standard graph: fixed point for artifacts and the stepper, else float on torch
    (S5-RF) or the exact NIR simulator (graphs)."""
    precision = precision or ("fixed" if fixed or backend == "stepper" else "float")
    if fixed and precision == "float":
        raise S5RFError("a fixed-point artifact has no float model; give the float model instead")
    if precision == "fixed":
        if backend not in (None, "stepper", "lava"):
            raise S5RFError(f"fixed point runs on the stepper or lava backend, not {backend!r}")
        return backend or "stepper", precision
    backend = backend or ("torch" if s5rf else "nir")
    if backend == "stepper":
        raise S5RFError("the stepper backend runs fixed point (--precision fixed)")
    if backend == "torch" and not s5rf:
        raise S5RFError("the torch backend runs S5-RF networks; use --backend nir for this graph")
    return backend, precision
