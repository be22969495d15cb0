"""The dashboard's log file: the library's INFO lines (each order placed with its cOID, IBKR's answer, gateway
state changes, pacing waits, failed reads) in ``<state dir>/logs/ibkr-desk.log``, rotated at 5 MB, 5 files kept.
The audit log (``ibkr.audit``) is the record of who did what; this file is what an engineer greps afterwards.

Installed by the served dashboard (``ibkr_desk.serve``). The console keeps Streamlit's own output and the
library's warnings only.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from ibkr.state import open_private

LOGGERS = ("ibkr", "ibkr_desk")
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
MAX_BYTES, BACKUPS = 5 * 1024 * 1024, 5


class _PrivateFileHandler(RotatingFileHandler):
    """Every file it opens (the log and each new one after a rotation) is the user's only, like the gateway's
    logs (``ibkr.state.open_private``): order lines name accounts."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open_private(Path(self.baseFilename), "a")


def install(folder: Path) -> Path | None:
    """Send the INFO lines of :data:`LOGGERS` to ``folder/ibkr-desk.log`` (once per process); the file, or None
    when the folder cannot be written (said on stderr; the dashboard runs on without it)."""
    path = Path(folder) / "ibkr-desk.log"
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path.resolve() for h in logger.handlers):
            return path
    try:
        handler = _PrivateFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        print(f"ibkr-desk: no log file ({exc}); logging to the console only", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    console = logging.StreamHandler()  # with a handler of their own, the loggers' warnings no longer reach
    console.setLevel(logging.WARNING)  # Python's last-resort stderr handler: this one keeps them there
    console.setFormatter(logging.Formatter(FORMAT))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.addHandler(console)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    return path
