"""Atomic output files: written to a temporary sibling, renamed on success."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from s5rf_deploy.errors import S5RFError
from s5rf_deploy.timing import stage


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only on success.

    On any exception (or KeyboardInterrupt) the temporary file is removed and
    ``path`` is left as it was.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise S5RFError(f"{target}: output directory {directory} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise S5RFError(f"{target}: cannot write output ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        with stage(f"write {target}"):
            yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def check_output_dir(path: str | os.PathLike, replace: bool = False) -> None:
    """Refuse an output folder that exists (unless ``replace``) or whose parent does not."""
    target = Path(path)
    if target.exists() and not replace:
        raise S5RFError(f"{target}: already exists (use --force to replace it)")
    if not target.absolute().parent.is_dir():
        raise S5RFError(f"{target}: parent folder {target.absolute().parent} does not exist")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_path` for a folder: filled under a temporary sibling, renamed into place on
    success (an existing folder is replaced only when ``replace``)."""
    target = Path(path)
    check_output_dir(target, replace)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.absolute().parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; an output folder follows the umask like any output
    try:
        with stage(f"write {target}/"):
            yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
