"""Rerun README.md's commands the way tests/cli/test_readme.py does and write their outputs into the README.

Run it after a change of what a command prints, then review `git diff README.md` (numbers that moved must have a
reason).  It uses the project's .venv and a scratch folder; the README's `make demo` output keeps its `...` lines.

    .venv/bin/python tools/update_readme.py
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
spec = importlib.util.spec_from_file_location("test_readme", ROOT / "tests" / "cli" / "test_readme.py")
readme_test = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = readme_test  # its dataclasses look their module up
spec.loader.exec_module(readme_test)


def main() -> None:
    readme = ROOT / "README.md"
    found = readme_test.examples(readme.read_text())
    work = Path(tempfile.mkdtemp(prefix="readme-"))
    (work / ".venv").symlink_to(ROOT / ".venv")
    logs = work / "logs"
    logs.mkdir()
    script = [f"cd {work}"]
    for i, example in enumerate(found):
        cmd = readme_test.make_recipe("demo") if example.command == "make demo" else example.command
        script.append(f"{{ {cmd}\n}} >{logs}/{i}.out 2>&1 </dev/null; echo $? >{logs}/{i}.rc")
    subprocess.run(["bash", "-c", "\n".join(script)], env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=True)
    lines = readme.read_text().splitlines()
    for i, example in reversed(list(enumerate(found))):
        out = readme_test.printed((logs / f"{i}.out").read_text())
        if example.command == "make demo":
            out = ["...", *("..." if line.startswith("done in") else line for line in out)]
        print((logs / f"{i}.rc").read_text().strip(), example.command, file=sys.stderr)
        lines[example.line:example.line + len(example.shown)] = out
    readme.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
