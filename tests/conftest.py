"""Test-suite settings: hypothesis without per-example deadlines (a 2-core CI machine makes timing-based
deadlines flaky).

``make test`` runs derandomized (the same examples every run).  ``make fuzz`` (``S5RF_FUZZ_EXAMPLES`` set) draws
new examples on every run and keeps each failing one in hypothesis's example database (``.hypothesis/examples``,
git-ignored), which the next run replays first; turn them into ``@example`` regression tests.
"""

import os
from pathlib import Path

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLE_DATABASE = Path(__file__).resolve().parents[1] / ".hypothesis" / "examples"

settings.register_profile("s5rf", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("s5rf-fuzz", deadline=None, derandomize=False, print_blob=True,
                          database=DirectoryBasedExampleDatabase(EXAMPLE_DATABASE))
settings.load_profile("s5rf-fuzz" if os.environ.get("S5RF_FUZZ_EXAMPLES") else "s5rf")
