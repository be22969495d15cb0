"""``python -m ibkr_desk [--port N] [streamlit options]``: serve the dashboard with the project's Streamlit settings.

The settings are passed on the command line, so an installed copy looks the same from any folder; options given
after them (``--server.port 8600``, ``--server.headless true``) win. It serves :mod:`ibkr_desk.serve` (the app behind
the Host check, see SECURITY.md) and listens on 127.0.0.1 unless told otherwise; another address
(``--server.address 0.0.0.0``, ``STREAMLIT_SERVER_ADDRESS`` or ``.streamlit/config.toml``) needs sign-in configured,
and without it start-up stops with one line and exit code 3 (:func:`ibkr_desk.hosting.startup_problem`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

APP = Path(__file__).with_name("app.py")
SERVE = Path(__file__).with_name("serve.py")  # APP as an ASGI App with the Host check in front
DEFAULT_ADDRESS = "127.0.0.1"  # unless --server.address, STREAMLIT_SERVER_ADDRESS or a config.toml names another
STREAMLIT_OPTIONS = {
    "server.port": "8501",
    "server.headless": "true",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "theme.base": "dark",
    "theme.primaryColor": "#d81222",
    "theme.font": "sans serif",
    "client.toolbarMode": "minimal",
    # Streamlit runs a full gc.collect(2) after every script run, fragment runs included: with twenty viewers each
    # redrawing a fragment every second, those collections held the GIL most of the time and a new session waited
    # a minute or more to draw (bench/load.py). Python's own generational collector still runs.
    "runner.postScriptGC": "false",
}


def command(extra: list[str], allowed_hosts: Sequence[str] = (), address: str | None = DEFAULT_ADDRESS) -> list[str]:
    """``streamlit run`` argv: the address (None: left to Streamlit's configuration), the project's options, the
    allowed hosts (Streamlit's websocket check), then ``extra`` (``--port N`` means ``--server.port N``)."""
    given = ["--server.port" if arg == "--port" else arg for arg in extra]
    options = {**({"server.address": address} if address is not None else {}), **STREAMLIT_OPTIONS}
    flags = [part for key, value in options.items() for part in (f"--{key}", value)]
    hosts = [part for host in allowed_hosts for part in ("--server.allowedHosts", host)]
    return ["streamlit", "run", str(SERVE), *flags, *hosts, *given]


def load_streamlit_config(argv: list[str]) -> bool:
    """Load Streamlit's configuration as ``argv`` (a ``streamlit run`` command line) will resolve it: the command
    line, ``STREAMLIT_*`` variables, config.toml files, defaults. False when Streamlit's parser refuses ``argv``
    (it says why itself when it runs)."""
    import click
    from streamlit import config
    from streamlit.web import bootstrap, cli

    try:
        ctx = cli.main_run.make_context("run", argv[2:])
    except click.ClickException:
        return False
    params = dict(ctx.params)
    target = params.pop("target")
    params.pop("args", None)
    config._main_script_path = os.path.abspath(target)
    quiet = logging.getLogger("streamlit.config")  # its notes come again when Streamlit loads it for the run
    drop = logging.Filter("(nothing)")
    quiet.addFilter(drop)
    try:
        bootstrap.load_config_options(flag_options=params)
    finally:
        quiet.removeFilter(drop)
    return True


def resolve(extra: list[str], allowed_hosts: Sequence[str]) -> tuple[list[str], str | None]:
    """The ``streamlit run`` argv and the one line that stops start-up (None: it may start). The dashboard
    listens on :data:`DEFAULT_ADDRESS` unless the command line, the environment or a config file names an
    address, and then that address is held to :func:`ibkr_desk.hosting.startup_problem`."""
    from streamlit import config

    from ibkr_desk import hosting

    run = command(extra, allowed_hosts, address=None)
    if not load_streamlit_config(run):
        return run, None
    if not config.is_manually_set("server.address"):
        run = command(extra, allowed_hosts)
        load_streamlit_config(run)
    hosts = [*allowed_hosts, *config.get_option("server.allowedHosts")]
    return run, hosting.startup_problem(
        address=config.get_option("server.address"), allowed_hosts=hosts, signin=hosting.signin_configured(),
        xsrf=bool(config.get_option("server.enableXsrfProtection")), cors=bool(config.get_option("server.enableCORS")))


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    from ibkr.config import load_settings
    from ibkr.errors import ConfigurationError

    try:
        settings = load_settings()  # a bad setting stops here, in one line, instead of showing visitors a traceback
    except ConfigurationError as exc:
        print(f"ibkr-desk: configuration error: {exc.message}", file=sys.stderr)
        sys.exit(3)

    run, problem = resolve(list(sys.argv[1:] if argv is None else argv), settings.allowed_hosts)
    if problem:
        print(f"ibkr-desk: {problem}", file=sys.stderr)
        sys.exit(3)
    sys.argv = run
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again with the handler it found: make that
    # a normal exit, so the gateway manager's atexit hook stops the simulator (a service manager's stop included).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(cli.main())


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
