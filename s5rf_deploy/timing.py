"""Stage timing: each stage of a command is logged with its duration on the ``s5rf_deploy`` logger.

``--verbose`` shows the INFO records (one per stage: ``<stage>: <seconds> s``);
stages that take seconds (Lava compilation, figures) are also announced before
they start at :data:`NOTICE`, which the CLI shows unless ``--quiet`` or ``--json``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

NOTICE = 25  # between INFO and WARNING
logging.addLevelName(NOTICE, "NOTICE")
log = logging.getLogger("s5rf_deploy")


@contextlib.contextmanager
def stage(what: str, notice: str | None = None) -> Iterator[None]:
    """Log ``what`` and how long the block took (INFO, when it succeeds); ``notice`` is logged at
    :data:`NOTICE` before the block starts."""
    if notice:
        log.log(NOTICE, notice)
    started = time.perf_counter()
    yield
    log.info("%s: %.2f s", what, time.perf_counter() - started)
