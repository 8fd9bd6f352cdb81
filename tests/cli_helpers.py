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


def session_processes(sid: int) -> list[str]:
    """The pids of the processes of session ``sid`` (a command started with ``start_new_session=True``)."""
    import subprocess

    lines = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True).stdout.splitlines()
    return [line.split()[0] for line in lines if line.split()[1:] == [str(sid)]]


def as_from_a_terminal() -> None:
    """``preexec_fn`` for a command the tests interrupt: SIGINT handled as in a terminal's foreground job, even
    when the test run itself was started in the background (``cmd &`` ignores SIGINT, and children inherit
    that)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_ctrl_c_cleans_up(proc, out) -> None:
    """Send what a terminal's Ctrl-C sends (SIGINT to the whole process group) to the command ``proc``, started
    in a session of its own; it must exit 130 with ``interrupted`` and no traceback, leave no ``out`` (nor a
    temporary of it), and leave no process of its session within 30 s (a loaded 2-core machine takes seconds to
    reap Lava's and Dask's processes)."""
    import os
    import signal
    import time

    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() and not list(out.parent.glob(f".{out.name}.*"))
    for _ in range(300):
        if not session_processes(proc.pid):
            break
        time.sleep(0.1)
    assert session_processes(proc.pid) == []
