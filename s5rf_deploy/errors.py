"""User-facing error types.

Everything the CLI reports as "bad input" (exit code 2) derives from
:class:`S5RFError`; its message is a single line naming the problem.
"""


class S5RFError(Exception):
    """A problem with the user's input: a file, an option or a model."""


class FormatError(S5RFError):
    """A file is missing, truncated, corrupted or of the wrong kind or version."""


class ConfigError(S5RFError):
    """A model configuration or parameter value is invalid."""


class SampleError(S5RFError):
    """Bad input in one sample of a dataset, named by its index (survives pickling, as in a Dask task)."""

    def __init__(self, sample: int, message: str) -> None:
        super().__init__(f"sample {sample}: {message}")
        self.sample, self.message = sample, message

    def __reduce__(self) -> tuple:
        return type(self), (self.sample, self.message)
