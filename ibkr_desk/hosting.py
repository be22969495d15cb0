"""Where the dashboard may be served and to whom: safe by default (SECURITY.md).

- :func:`signin_configured`: whether Streamlit's OIDC sign-in is configured (an ``[auth]`` section with a
  provider in the secrets files Streamlit reads). It reads the files itself, so it works before Streamlit's
  runtime starts (``python -m ibkr_desk`` decides with it whether a non-loopback address may be served).
- :func:`startup_problem`: the one line that stops start-up (an address off loopback, or a host allow-list with
  ``*`` or a name that is not this machine's, without sign-in; XSRF or CORS protection turned off), or None.
- :func:`middleware`: what :mod:`ibkr_desk.serve` puts in front of Streamlit: a foreign ``Host`` header is refused
  (400) on every HTTP request and websocket (DNS rebinding), and with sign-in configured, Streamlit's internal
  endpoints that describe the server (:data:`GUARDED_PATHS`) answer 403 to anyone not signed in.
- :func:`unguarded`: why a page must not be served (``streamlit run ibkr_desk/app.py``: none of the above ran), or
  None.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SIGNIN_HINT = ("configure sign-in: an [auth] section with redirect_uri, cookie_secret, client_id, client_secret and "
               "server_metadata_url in .streamlit/secrets.toml (SECURITY.md)")
# Streamlit's endpoints that tell a stranger about the server: cache names and sizes, the host configuration, the
# agent API's description. /_stcore/health stays open (it says "ok" and nothing else: load balancers probe it).
GUARDED_PATHS = ("/_stcore/metrics", "/_stcore/host-config", "/_stcore/script-health-check", "/_stcore/agent/")
HOST_CONFIG = "/_stcore/host-config"
# The browser fetches the host configuration before anyone can sign in and shows no page without it (not even the
# sign-in screen), so a visitor not signed in gets this fixed one, Streamlit's defaults with no allowed origins:
# nothing in it comes from the server's configuration.
ANONYMOUS_HOST_CONFIG = {
    "allowedOrigins": [], "useExternalAuthToken": False, "enableCustomParentMessages": False,
    "enforceDownloadInNewTab": False, "metricsUrl": "", "blockErrorDialogs": False, "resourceCrossOriginMode": None,
}


SERVED = False
"""Set by :mod:`ibkr_desk.serve` once its checks passed and its middleware is in place."""
UNGUARDED = ("This dashboard was started without its protections (`streamlit run ibkr_desk/app.py`): no check of "
             "the address it listens on, no Host check against DNS rebinding. Start it with `make run` or "
             "`python -m ibkr_desk` (`make serve` for a team).")


def unguarded(runtime: Any) -> str | None:
    """What to show instead of the pages when a real Streamlit server runs ``app.py`` without :mod:`ibkr_desk.serve`
    (Streamlit's own ``streamlit run`` listens on every interface by default), or None. Under AppTest, which runs
    pages with no server (its runtime is a stand-in), nothing is served, so nothing is refused."""
    real_server = type(runtime).__name__ == "Runtime"
    return UNGUARDED if real_server and not SERVED else None


# ---- addresses ------------------------------------------------------------------------------------------------
def is_loopback(address: str | None) -> bool:
    """True for an address that only this machine reaches: 127.0.0.0/8, ::1 or localhost. An empty address is
    Streamlit's "every interface"."""
    text = (address or "").strip().strip("[]").lower()
    if not text:
        return False
    if text in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def host_patterns(hosts: Iterable[str]) -> list[str]:
    """The allow-list for starlette's TrustedHostMiddleware, which compares the Host header's host with IPv6
    literals in brackets (``[::1]``), while Streamlit's own ``server.allowedHosts`` compares them bare."""
    patterns: list[str] = []
    for host in hosts:
        name = host.strip().lower()
        if not name:
            continue
        bare = name.strip("[]")
        forms = [name]
        if ":" in bare:  # an IPv6 literal
            forms = [bare, f"[{bare}]"]
        patterns.extend(form for form in forms if form not in patterns)
    return patterns


# ---- sign-in --------------------------------------------------------------------------------------------------
def secrets_files() -> list[str]:
    """The secrets files and folders Streamlit reads (``secrets.files``: ``~/.streamlit/secrets.toml``, the working
    folder's and the script folder's ``.streamlit/secrets.toml``, or what ``--secrets.files`` names)."""
    from streamlit import config

    return [str(path) for path in config.get_option("secrets.files")]


def _read_secrets(paths: Sequence[str]) -> dict[str, Any]:
    """The secrets of ``paths`` merged as Streamlit merges them (later files win, top-level keys), parsed by
    Streamlit's own reader without installing its file watchers or touching ``st.secrets``."""
    from streamlit.runtime.secrets import Secrets

    reader = Secrets()
    merged: dict[str, Any] = {}
    for path in paths:
        if not path.endswith(".toml") and not Path(path).is_dir():
            continue
        try:
            found, _ = reader._parse_file_path(path)
        except Exception:  # a file Streamlit cannot parse configures nothing; Streamlit itself reports it
            continue
        merged.update(found)
    return merged


def signin_configured(paths: Sequence[str] | None = None) -> bool:
    """True when Streamlit's OIDC sign-in is configured the way ``st.login`` needs it (:func:`signin_problem` finds
    nothing wrong with the ``[auth]`` section). ``paths`` defaults to Streamlit's ``secrets.files``; works before
    Streamlit's runtime starts."""
    auth = _read_secrets(secrets_files() if paths is None else paths).get("auth")
    return auth is not None and signin_problem(auth) is None


def signin_problem(auth: Any) -> str | None:
    """What an ``[auth]`` section lacks for ``st.login`` to work, or None: ``redirect_uri`` and ``cookie_secret``,
    and at least one provider (its keys in ``[auth]`` itself, the default provider, or in an ``[auth.<name>]``
    table) with ``client_id``, ``client_secret`` and ``server_metadata_url``. The one rule for the start-up check
    and for the running pages (``ibkr_desk.auth``)."""
    if not isinstance(auth, Mapping):
        return "[auth] in .streamlit/secrets.toml is not a table"
    missing = [key for key in ("redirect_uri", "cookie_secret") if not auth.get(key)]
    if missing:
        return f"[auth] in .streamlit/secrets.toml has no {' or '.join(missing)}"
    providers = [auth, *(value for value in auth.values() if isinstance(value, Mapping))]
    if not any(all(provider.get(key) for key in PROVIDER_KEYS) for provider in providers):
        return ("[auth] in .streamlit/secrets.toml names no provider with client_id, client_secret and "
                "server_metadata_url")
    return None


# ---- start-up -------------------------------------------------------------------------------------------------
def startup_problem(*, address: str | None, allowed_hosts: Sequence[str], xsrf: bool, cors: bool,
                    signin: bool) -> str | None:
    """The one line that says why the dashboard must not start this way and what to set, or None."""
    if not xsrf:
        return ("server.enableXsrfProtection is off: remove --server.enableXsrfProtection false (or "
                "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION, or its line in .streamlit/config.toml)")
    if not cors:
        return ("server.enableCORS is off, so any web page may open the dashboard's websocket: remove "
                "--server.enableCORS false (or STREAMLIT_SERVER_ENABLE_CORS, or its line in .streamlit/config.toml)")
    if signin:
        return None
    if not is_loopback(address):
        shown = address or "every interface"
        return (f"serving on {shown} (not loopback) needs sign-in: {SIGNIN_HINT}; or serve on 127.0.0.1 "
                "(--server.address 127.0.0.1, the default)")
    if any(host.strip() == "*" for host in allowed_hosts):
        return f"IBKR_ALLOWED_HOSTS=* accepts any Host header (DNS rebinding) and needs sign-in: {SIGNIN_HINT}"
    remote = [host for host in allowed_hosts if not is_loopback(host)]
    if remote:  # a reverse proxy on this machine would serve the dashboard under that name, to others
        return (f"IBKR_ALLOWED_HOSTS names {', '.join(remote)}, which is not this machine, and serving under it "
                f"needs sign-in: {SIGNIN_HINT}")
    return None


# ---- in front of Streamlit ------------------------------------------------------------------------------------
def signed_in(scope: Scope) -> bool:
    """Whether the request carries Streamlit's signed-in user cookie, checked as Streamlit checks it on the
    websocket: the ``_streamlit_user`` cookie (chunks reassembled) signed with the cookie secret, its origin the
    request's Origin (else the origin of ``redirect_uri``, as Streamlit's auth routes use), ``is_logged_in``."""
    from starlette.requests import HTTPConnection
    from streamlit.auth_util import get_origin_from_redirect_uri
    from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME
    from streamlit.web.server.starlette.starlette_websocket import (
        _get_signed_cookie_with_chunks,
        _parse_decoded_user_cookie,
    )

    connection = HTTPConnection(scope)
    try:
        raw = _get_signed_cookie_with_chunks(dict(connection.cookies), USER_COOKIE_NAME)
        if not raw:
            return False
        origin = connection.headers.get("origin") or get_origin_from_redirect_uri() or ""
        return bool(_parse_decoded_user_cookie(raw, origin).get("is_logged_in"))
    except Exception:  # a malformed or foreign cookie is no user
        return False


class InternalEndpointGuard:
    """ASGI middleware: with sign-in configured, :data:`GUARDED_PATHS` answer 403 without a signed-in user, except
    the host configuration, which answers :data:`ANONYMOUS_HOST_CONFIG` (the sign-in screen needs one)."""

    def __init__(self, app: ASGIApp, *, base_path: str = "", enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled
        base = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.paths = tuple(base + path for path in GUARDED_PATHS)
        self.host_config = base + HOST_CONFIG

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.enabled and scope["type"] == "http" and scope["path"].startswith(self.paths)
                and not signed_in(scope)):
            from starlette.responses import JSONResponse, PlainTextResponse, Response

            response: Response = PlainTextResponse("Sign in first", status_code=403)
            if scope["path"] == self.host_config and scope["method"] in ("GET", "HEAD"):
                response = JSONResponse(ANONYMOUS_HOST_CONFIG, headers={"Cache-Control": "no-cache"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def middleware(allowed_hosts: Sequence[str], *, signin: bool, base_path: str = "") -> list:
    """Host check first (HTTP and websocket), then the internal-endpoint guard; Streamlit's own stack follows."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    return [
        Middleware(TrustedHostMiddleware, allowed_hosts=host_patterns(allowed_hosts), www_redirect=False),
        Middleware(InternalEndpointGuard, base_path=base_path, enabled=signin),
    ]
