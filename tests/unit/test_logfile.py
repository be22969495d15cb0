"""The dashboard's log file: the library's INFO lines land in it, once however often it is installed."""

from __future__ import annotations

import logging
import stat

from ibkr_desk import logfile


def test_the_librarys_info_lines_go_to_the_log_file_once_and_its_warnings_to_the_console_too(tmp_path, capsys):
    try:
        path = logfile.install(tmp_path / "logs")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert logfile.install(tmp_path / "logs") == path  # a second install adds no second handler
        logging.getLogger("ibkr.endpoints.trading").info("placing BUY 10 AAPL (cOID desk-1)")
        logging.getLogger("ibkr_desk.ui").debug("not kept")
        for handler in logging.getLogger("ibkr").handlers:
            handler.flush()
        lines = path.read_text().splitlines()
        assert len(lines) == 1 and lines[0].endswith("ibkr.endpoints.trading: placing BUY 10 AAPL (cOID desk-1)")
        logging.getLogger("ibkr.pacing").warning("could not keep the pacing state")
        assert "could not keep the pacing state" in capsys.readouterr().err
    finally:
        for name in logfile.LOGGERS:
            logger = logging.getLogger(name)
            for handler in [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]:
                logger.removeHandler(handler)
                handler.close()
            logger.setLevel(logging.NOTSET)


def test_a_folder_that_cannot_be_written_leaves_the_console_only(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert logfile.install(blocker / "logs") is None
    assert "no log file" in capsys.readouterr().err
