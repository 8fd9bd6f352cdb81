"""Markers that tell the truth: a test that starts Lava processes must be marked ``lava``.

Loaded as a pytest plugin (pyproject's addopts): in a test without the marker,
compiling a Lava process graph fails the test, so ``-m "not lava"`` really runs
no Lava and the marker cannot drift.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _lava_only_when_marked(request, monkeypatch):
    if request.node.get_closest_marker("lava") is None:
        from lava.magma.core.process.process import AbstractProcess

        def refuse(*_args, **_kwargs):
            raise AssertionError(f"{request.node.nodeid} runs Lava processes but is not marked 'lava'")

        monkeypatch.setattr(AbstractProcess, "create_runtime", refuse)
    yield
