"""What outlives a process: a per-user state folder and its small JSON files, written so no reader sees half.

The pacing limiter keeps IBKR's long windows there (``pacing.json``), the order register the submissions that
were on their way when the process stopped (``submissions.json``). Files are private to the user (0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any


def default_state_dir() -> Path:
    """A per-user folder for what outlives a process: ``$XDG_STATE_HOME/ibkr-desk`` (``~/.local/state/ibkr-desk``)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "ibkr-desk"


def read_json(path: Path) -> dict[str, Any]:
    """The object in ``path``; an empty dict when the file is missing, unreadable or not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` atomically (a temporary file renamed over it), readable by the user only.

    Raises OSError; callers decide whether a failed write matters."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def open_private(path: Path, mode: str = "a") -> IO[Any]:
    """``open(path, mode)`` for a log or pid file that only the user may read: created 0600 whatever the umask (an
    existing file is brought to 0600 too), in a folder created 0700. ``mode`` is ``"a"``, ``"ab"``, ``"w"`` or
    ``"wb"``."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
