"""Test-suite settings: hypothesis runs reproducibly and without per-example deadlines
(a 2-core CI machine makes timing-based deadlines flaky)."""

from hypothesis import settings

settings.register_profile("s5rf", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("s5rf")
