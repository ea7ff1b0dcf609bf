"""Writing a trained model so that only its owner can read it.

A trained intent model holds its training vocabulary and sentence vectors, so it is as private
as nlu.yml: the file is created 0600 (never wider, whatever the umask) and a directory made for
it 0700. It is written to a temporary file beside the target and renamed, so a crash never
leaves half a model behind.

>>> write_private(Path(".safebot/intent-model"), lambda fh: fh.write(b"..."))   # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_private"]


def write_private(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``target`` (mode 0600) with what ``write`` puts in the open file.

    A missing parent directory is created with mode 0700; an existing one is left as it is
    (``safebot train`` makes BOT_DIR/.safebot 0700 itself).
    """
    parent = target.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
    # mkstemp creates the file 0600 with O_EXCL: never readable by others, not even briefly.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
