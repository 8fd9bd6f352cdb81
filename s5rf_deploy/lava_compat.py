"""Make lava-nc 0.10.0 importable on Python 3.11+ without editing site-packages.

lava-nc 0.10.0 declares ``Requires-Python <3.11``.  On 3.11 its module
``lava.magma.compiler.var_model`` fails at import time: dataclasses there use
instances of the (unhashable) dataclass ``ByteEncoder`` as field defaults,
which Python 3.11 rejects as "mutable defaults".  The fix is to make the
dataclasses of that one module hashable (``unsafe_hash=True``) while it
executes, which restores the pre-3.11 behaviour exactly (the shared default
instances are what Lava always used).

:func:`install` registers an import hook that applies this fix the moment the
module is first imported.  ``import s5rf_deploy`` installs it, so any Lava
import after that works.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

PATCHED_MODULE = "lava.magma.compiler.var_model"


class _HashableDataclassLoader(importlib.abc.Loader):
    """Wraps the real loader; executes the module with hashable dataclasses."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        original = dataclasses.dataclass

        def hashable_dataclass(cls=None, /, **kwargs):
            kwargs.setdefault("unsafe_hash", True)
            return original(cls, **kwargs)

        dataclasses.dataclass = hashable_dataclass
        try:
            self._loader.exec_module(module)
        finally:
            dataclasses.dataclass = original


class _VarModelFinder(importlib.abc.MetaPathFinder):
    """Finds ``lava.magma.compiler.var_model`` and wraps its loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname != PATCHED_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HashableDataclassLoader(spec.loader)
        return spec


def needed() -> bool:
    """True on Python versions where lava-nc 0.10.0 fails to import unpatched."""
    return sys.version_info >= (3, 11)


def install() -> None:
    """Register the import hook once (no-op on Python < 3.11 or if already done)."""
    if not needed() or any(isinstance(f, _VarModelFinder) for f in sys.meta_path):
        return
    if PATCHED_MODULE in sys.modules:
        return
    sys.meta_path.insert(0, _VarModelFinder())
