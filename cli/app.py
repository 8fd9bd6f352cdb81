"""Click group with the CLI's error contract.

Exit codes: 0 success, 1 a failed check, 2 bad input (one-line message),
3 an internal error (one line; ``--debug`` shows the traceback), 130 interrupted.  Commands
import heavy modules (torch, lava) lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import click

from s5rf_deploy.errors import S5RFError

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class BadInput(click.ClickException):
    """A user error: printed as one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT


class InternalError(click.ClickException):
    """An unexpected failure: printed as one line, exit code 3."""

    exit_code = EXIT_INTERNAL


class CheckFailed(click.ClickException):
    """A check the user asked for did not hold: exit code 1."""

    exit_code = EXIT_CHECK_FAILED


class Group(click.Group):
    """Turns library errors into one-line CLI errors unless ``--debug`` is given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except S5RFError as exc:
            if ctx.params.get("debug"):
                raise
            raise BadInput(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the CLI contract: no tracebacks
            if ctx.params.get("debug"):
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise InternalError(
                f"internal error ({type(exc).__name__}: {first}); rerun with --debug for details"
            ) from None
