"""Files the tools write: checked before the work starts, written whole or not at all.

A run that classifies two hours of audio must not end in a traceback because its ``--csv`` folder is
missing: :func:`output_problem` says, before any work, why a path cannot be written, and
:func:`write_atomically` writes through a temporary file and a rename, so a reader (or a ``listen``
restarted by systemd) sees the old file or the new one, never half of one.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> output_problem(folder / "segments.csv") is None
True
>>> output_problem(folder / "missing" / "segments.csv")
'its folder does not exist'
>>> output_problem(folder)
'it is a folder'
>>> write_atomically(folder / "a.json", "{}")
>>> (folder / "a.json").read_text()
'{}'
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional, Union


def output_problem(path: Union[str, Path], folder: bool = False) -> Optional[str]:
    """Why ``path`` cannot be written as a regular file (``folder=True``: created or filled as a folder), or
    ``None``. A FIFO, a device (``/dev/full``) or a folder in a file's place is refused, and so is a parent
    that is missing, not a folder or not writable."""
    path = Path(path)
    try:
        mode = path.stat().st_mode if path.exists() else None
    except OSError as err:                     # a symlink loop, a permission problem
        return err.strerror or type(err).__name__
    if folder:
        if mode is not None:
            return None if stat.S_ISDIR(mode) and os.access(path, os.W_OK) else (
                "it is not a writable folder" if stat.S_ISDIR(mode) else "it exists and is not a folder")
        return output_problem(path.parent / ".probe") if path.parent != path else "no folder to create it in"
    if mode is not None:
        if stat.S_ISDIR(mode):
            return "it is a folder"
        if not stat.S_ISREG(mode):
            return "it is not a regular file (a pipe or a device)"
        return None if os.access(path, os.W_OK) else "it is not writable"
    parent = path.parent
    if not parent.exists():
        return "its folder does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    return None if os.access(parent, os.W_OK | os.X_OK) else "its folder is not writable"


def write_atomically(path: Union[str, Path], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
