"""Running the CLI in-process (click's test runner) and checking its one-line errors."""

from click.testing import CliRunner

from s5rf_deploy.cli.main import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_bad_input(result, pattern: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert pattern in lines[0], lines[0]
