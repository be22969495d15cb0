"""``python -m ibkr_desk [--port N] [streamlit options]``: serve the dashboard with the project's Streamlit settings.

The settings are passed on the command line, so an installed copy looks the same from any folder; options given
after them (``--server.port 8600``, ``--server.headless true``) win. It listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
STREAMLIT_OPTIONS = {
    "server.address": "127.0.0.1",
    "server.port": "8501",
    "server.headless": "true",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "theme.base": "dark",
    "theme.primaryColor": "#d81222",
    "theme.font": "sans serif",
    "client.toolbarMode": "minimal",
}


def command(extra: list[str]) -> list[str]:
    """``streamlit run`` argv: the project's options, then ``extra`` (``--port N`` means ``--server.port N``)."""
    given = ["--server.port" if arg == "--port" else arg for arg in extra]
    options = [part for key, value in STREAMLIT_OPTIONS.items() for part in (f"--{key}", value)]
    return ["streamlit", "run", str(APP), *options, *given]


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    from ibkr.config import load_settings
    from ibkr.errors import ConfigurationError

    try:
        load_settings()  # a bad setting stops here, in one line, instead of showing visitors a traceback
    except ConfigurationError as exc:
        print(f"ibkr-desk: configuration error: {exc.message}", file=sys.stderr)
        sys.exit(3)

    sys.argv = command(list(sys.argv[1:] if argv is None else argv))
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
