"""README.md as a test: ``make demo``, then every ``$ `` command of its code blocks, in order.

The commands run in one bash session, as a reader types them (``cd`` and
``source`` carry over), in an empty folder holding a link to this virtual
environment as ``.venv``, like a clone after ``make demo``'s set-up.  Each must
exit 0, or 2 where the README shows an ``Error:`` line under it (an intended
refusal), and print exactly the lines the README shows under it; a line ``...``
stands for any number of lines.  stdout and stderr are read together,
unbuffered, in the order a terminal shows them; progress lines are left out (they appear only on
runs that take long enough).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO
from s5rf_deploy.cli.common import PROGRESS_LINE
from s5rf_deploy.demo.workspace import NEXT_COMMANDS

README = REPO / "README.md"
PROMPT = "$ "
ELLIPSIS = "..."
FENCE = "```"
EXIT_BAD_INPUT = 2
TIMEOUT_S = 900


@dataclass(frozen=True)
class Example:
    """One ``$ `` command of the README and the output lines shown under it."""

    line: int  # README line number of the command
    command: str
    shown: tuple[str, ...]

    @property
    def expected_exit(self) -> int:
        return EXIT_BAD_INPUT if any(line.startswith("Error:") for line in self.shown) else 0


def examples(text: str) -> list[Example]:
    """The ``$ `` commands of the fenced code blocks of ``text``, in order."""
    found: list[Example] = []
    command: tuple[int, str] | None = None
    shown: list[str] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if line.startswith(FENCE) or (in_block and line.startswith(PROMPT)):
            if command is not None:
                found.append(Example(command[0], command[1], tuple(shown)))
            command, shown = None, []
            if line.startswith(FENCE):
                in_block = not in_block
            else:
                command = (number, line[len(PROMPT):])
        elif command is not None:
            shown.append(line)
    return found


def matches(shown: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether ``actual`` is ``shown`` with each ``...`` line standing for any run of lines."""
    if not shown:
        return not actual
    if shown[0] == ELLIPSIS:
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == shown[0] and matches(shown[1:], actual[1:])


def printed(text: str) -> list[str]:
    """The lines a command printed as the README shows them: without trailing blanks and without progress lines,
    which appear only on runs that take long enough."""
    lines = [line.rstrip() for line in text.splitlines() if not PROGRESS_LINE.match(line.rstrip())]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def make_recipe(target: str) -> str:
    """The Makefile's one-line recipe for ``target``, with ``$(VENV)`` expanded."""
    lines = (REPO / "Makefile").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    recipe = [line.strip() for line in lines[start + 1:start + 2] if line.startswith("\t")]
    assert len(recipe) == 1 and "$(" not in recipe[0].replace("$(VENV)", ""), recipe
    return recipe[0].replace("$(VENV)", ".venv")


def test_readme_examples_are_well_formed():
    """The README starts with ``make demo``, its first commands are the ones the demo suggests, and no
    command writes a file an earlier one wrote (no 'already exists')."""
    found = examples(README.read_text())
    assert found and found[0].command == "make demo"
    commands = [e.command for e in found if e.command.startswith("s5rf-deploy ")]
    assert commands[:len(NEXT_COMMANDS)] == list(NEXT_COMMANDS)
    outputs = [m.group(1) for e in found if e.expected_exit == 0
               for m in [re.search(r"(?:^|\s)(?:-o|--output|--poles)\s+(\S+)", e.command)] if m]
    assert len(outputs) == len(set(outputs)), sorted(o for o in outputs if outputs.count(o) > 1)


def test_matches_elides_with_dots():
    assert matches(["a", "b"], ["a", "b"]) and not matches(["a"], ["a", "b"])
    assert matches(["...", "b"], ["x", "y", "b"]) and matches(["a", "...", "c"], ["a", "c"])
    assert not matches(["a", "...", "c"], ["a", "c", "d"])


@pytest.mark.lava
@pytest.mark.slow
def test_readme_runs_as_shown(tmp_path):
    """Every README command after ``make demo``, in one shell, against what the README shows."""
    venv = Path(sys.prefix)
    if venv == Path(sys.base_prefix) or not (venv / "bin" / "activate").is_file():
        pytest.skip("the README runs in the project's virtual environment (make test)")
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    found = examples(README.read_text())
    script = [f"cd {shlex.quote(str(tmp_path))} || exit 99"]
    for i, example in enumerate(found):
        command = make_recipe("demo") if example.command == "make demo" else example.command
        script.append(f"{{ {command}\n}} >{logs}/{i}.out 2>&1 </dev/null; rc=$?; echo $rc >{logs}/{i}.rc; "
                      f"[ $rc -eq {example.expected_exit} ] || exit 0")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(["bash", "-c", "\n".join(script)], env=env, check=True, timeout=TIMEOUT_S)

    failures = []
    for i, example in enumerate(found):
        where = f"README.md:{example.line}: $ {example.command}"
        if not (logs / f"{i}.rc").is_file():
            failures.append(f"{where}\n  not run: an earlier command failed")
            break
        rc = int((logs / f"{i}.rc").read_text())
        actual = printed((logs / f"{i}.out").read_text())
        if rc != example.expected_exit or not matches(example.shown, actual):
            failures.append(f"{where}\n  exit {rc} (expected {example.expected_exit}); printed:\n"
                            + "\n".join(f"    {line}" for line in actual)
                            + "\n  README shows:\n" + "\n".join(f"    {line}" for line in example.shown))
    assert not failures, "\n\n".join(failures)
    with np.load(tmp_path / "s5rf-demo" / "float.npz") as run:  # --record spikes,states recorded both
        assert {"spikes_0", "states_0", "spikes_1", "states_1"} <= set(run.files)
