"""Click group with the CLI's error contract.

Exit codes: 0 success, 1 a failed check, 2 bad input (one-line message),
3 an internal error (one line; ``--debug`` also prints the traceback, the exit code stays), 130
interrupted.  With ``--json`` an error is a JSON object ``{"error", "exit_code"}`` on stdout.  The
global options may also follow the command.  Commands import heavy modules (torch, lava) lazily so
``--help`` stays fast.
"""

from __future__ import annotations

import json
import traceback

import click

from s5rf_deploy.errors import S5RFError

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


GLOBAL_FLAGS = ("--debug", "--quiet", "-q", "--json", "--verbose", "-v")


class _OneLine(click.ClickException):
    """An error printed as ``Error: <one line>`` on stderr, or as a JSON object on stdout with ``--json``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        ctx = click.get_current_context(silent=True)
        self.as_json = bool(ctx and ctx.find_root().params.get("as_json"))

    def show(self, file=None) -> None:
        if self.as_json:
            click.echo(json.dumps({"error": self.format_message(), "exit_code": self.exit_code}))
        else:
            super().show(file)


class BadInput(_OneLine):
    """A user error: printed as one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT


class InternalError(_OneLine):
    """An unexpected failure: printed as one line, exit code 3."""

    exit_code = EXIT_INTERNAL


class CheckFailed(_OneLine):
    """A check the user asked for did not hold: exit code 1."""

    exit_code = EXIT_CHECK_FAILED


class Group(click.Group):
    """Turns library errors into one-line CLI errors (``--debug`` adds the traceback, same exit code)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Accept the global flags after the command too, by moving them in front of it."""
        args = list(args)
        first = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
        moved = [a for a in args[first:] if a in GLOBAL_FLAGS]
        if moved and "--" not in args[first:]:
            args = args[:first] + moved + [a for a in args[first:] if a not in GLOBAL_FLAGS]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except S5RFError as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            raise BadInput(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        except click.UsageError as exc:
            if ctx.params.get("as_json"):
                raise BadInput(exc.format_message()) from None
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the CLI contract: no tracebacks
            if ctx.params.get("debug"):
                traceback.print_exc()
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise InternalError(
                f"internal error ({type(exc).__name__}: {first}); rerun with --debug for details"
            ) from None
