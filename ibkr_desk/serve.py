"""The served dashboard: ``ibkr_desk/app.py`` as a Streamlit ``App`` (ASGI) with :mod:`ibkr_desk.hosting`'s
middleware in front of Streamlit's own, which ``python -m ibkr_desk`` runs (``streamlit run ibkr_desk/serve.py``).

A request whose Host header is not in ``IBKR_ALLOWED_HOSTS`` gets 400, HTTP and websocket alike (DNS rebinding);
with sign-in configured, Streamlit's internal endpoints that describe the server answer 403 to anyone not signed
in. The same hosts go to Streamlit's ``server.allowedHosts``, its own websocket check. Tests that run the pages
under AppTest run ``app.py`` directly: nothing here is part of a page.

``python -m ibkr_desk`` checks the address and the settings before anything listens; this module checks them
again (Streamlit has read its configuration by now), so ``streamlit run ibkr_desk/serve.py`` is held to the same.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextlib import asynccontextmanager

from streamlit import config
from streamlit.starlette import App

from ibkr.config import load_settings
from ibkr.errors import ConfigurationError
from ibkr.state import default_state_dir
from ibkr_desk import hosting, logfile

try:
    _settings = load_settings()
except ConfigurationError as exc:
    print(f"ibkr-desk: configuration error: {exc.message}", file=sys.stderr)
    raise SystemExit(3) from None

_signin = hosting.signin_configured()
_hosts = list(dict.fromkeys([*_settings.allowed_hosts, *config.get_option("server.allowedHosts")]))
_problem = hosting.startup_problem(
    address=config.get_option("server.address"), allowed_hosts=_hosts, signin=_signin,
    xsrf=bool(config.get_option("server.enableXsrfProtection")), cors=bool(config.get_option("server.enableCORS")))
if _problem:
    print(f"ibkr-desk: {_problem}", file=sys.stderr)
    raise SystemExit(3)
if list(config.get_option("server.allowedHosts")) != _hosts:
    config.set_option("server.allowedHosts", _hosts)

log = logging.getLogger("ibkr_desk")
logfile.install(default_state_dir() / "logs")


def _start_background() -> None:
    # Streamlit warns of each cached service made outside a page's run ("missing ScriptRunContext"): expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: threading.current_thread().name != "desk-start")
    try:
        from ibkr_desk.ui import services

        services.start_background()
    except Exception:  # noqa: BLE001 - the first page starts them again and shows what is wrong
        log.exception("the gateway and the background readers did not start with the dashboard")


@asynccontextmanager
async def _lifespan(_app):
    """The platform boots, the desk starts working: gateway, keep-alive, refresher, live orders (on a thread, so
    the server answers at once; a gateway's start can take seconds)."""
    threading.Thread(target=_start_background, name="desk-start", daemon=True).start()
    yield


hosting.SERVED = True
app = App("app.py", lifespan=_lifespan, middleware=hosting.middleware(_hosts, signin=_signin,
                                                  base_path=config.get_option("server.baseUrlPath") or ""))
