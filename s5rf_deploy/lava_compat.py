"""Make lava-nc 0.10.0 importable on Python 3.11+ without editing site-packages.

Two of Lava's modules fail at import time in ordinary programs:

- ``lava.magma.compiler.var_model`` uses instances of the (unhashable)
  dataclass ``ByteEncoder`` as field defaults, which Python 3.11 rejects as
  "mutable defaults".  We execute that module with dataclasses defaulting to
  ``unsafe_hash=True``, which restores the pre-3.11 behaviour exactly (the
  shared default instances are what Lava always used).
- ``lava.magma.runtime.message_infrastructure.multiprocessing`` calls
  ``multiprocessing.set_start_method('fork')``, which raises "context has
  already been set" if anything in the process (a library, a test runner)
  touched the start method first.  We execute it with ``force=True``; Lava
  needs 'fork' either way.

:func:`install` registers an import hook that applies these fixes the moment
the modules are first imported.  ``import s5rf_deploy`` installs it, so any
Lava import after that works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import importlib.machinery
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from types import ModuleType


@contextlib.contextmanager
def _hashable_dataclasses() -> Iterator[None]:
    original = dataclasses.dataclass

    def hashable_dataclass(cls=None, /, **kwargs):
        kwargs.setdefault("unsafe_hash", True)
        return original(cls, **kwargs)

    dataclasses.dataclass = hashable_dataclass
    try:
        yield
    finally:
        dataclasses.dataclass = original


@contextlib.contextmanager
def _forced_start_method() -> Iterator[None]:
    original = multiprocessing.set_start_method

    def forced(method: str, force: bool = False) -> None:
        original(method, force=True)

    multiprocessing.set_start_method = forced
    try:
        yield
    finally:
        multiprocessing.set_start_method = original


PATCHES: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "lava.magma.compiler.var_model": _hashable_dataclasses,
    "lava.magma.runtime.message_infrastructure.multiprocessing": _forced_start_method,
}


class _PatchingLoader(importlib.abc.Loader):
    """Wraps the real loader; executes the module inside its patch."""

    def __init__(self, loader: importlib.abc.Loader, patch: Callable[[], contextlib.AbstractContextManager]) -> None:
        self._loader = loader
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with self._patch():
            self._loader.exec_module(module)


class _LavaFinder(importlib.abc.MetaPathFinder):
    """Finds the patched Lava modules and wraps their loaders."""

    def find_spec(self, fullname, path, target=None):
        patch = PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader, patch)
        return spec


def needed() -> bool:
    """True on Python versions where lava-nc 0.10.0 fails to import unpatched."""
    return sys.version_info >= (3, 11)


def install() -> None:
    """Register the import hook once (before Lava is imported; a no-op after)."""
    if any(isinstance(f, _LavaFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _LavaFinder())
