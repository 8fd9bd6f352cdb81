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
