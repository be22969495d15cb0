"""Safe by default, against ``python -m ibkr_desk`` (SECURITY.md): it listens on loopback only (the socket table
says so); a foreign Host header gets no page, HTTP or websocket, so a DNS-rebinding page in Chromium gets no app
while localhost does; Streamlit's XSRF check is on; and served on 0.0.0.0 with sign-in configured, Streamlit's
internal endpoints tell nothing to anyone not signed in."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websocket

from tests.conftest import CHROMIUM_ARGS, chromium_or_skip
from tests.dashboard_harness import free_port, port_open, streamlit_app, streamlit_process

pytestmark = pytest.mark.e2e

EVIL = "evil.example"


def listening(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port``, from the kernel's socket table (/proc/net/tcp*)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(packed if width == 16 else raw[::-1])))
    return found


def port_of(url: str) -> int:
    return urlsplit(url).port or 80


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("hosting")
    with streamlit_app(tmp, sim_auto_login="true", refresh_seconds="60") as running:
        yield {**running, "port": port_of(running["url"])}


@pytest.fixture(scope="module")
def rebinding_browser(browser) -> Iterator:
    """Chromium whose resolver sends evil.example to 127.0.0.1: what a rebinding attacker's DNS does (a second
    Chromium of the session's Playwright)."""
    other = browser.browser_type.launch(executable_path=chromium_or_skip(), headless=True,
                                        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"])
    yield other
    other.close()


def test_it_listens_on_loopback_only_and_so_does_the_simulator(served, page):
    page.goto(f"http://localhost:{served['port']}/")
    page.get_by_text("Net liquidation").first.wait_for(timeout=90_000)  # the gateway (simulator) runs by now

    assert listening(served["port"]) == {"127.0.0.1"}
    gateway = listening(port_of(served["gateway"]))
    assert gateway and all(ipaddress.ip_address(a).is_loopback for a in gateway), gateway


def test_the_logs_and_the_key_are_the_users_only(served, page):
    page.goto(f"http://localhost:{served['port']}/")
    page.get_by_text("Net liquidation").first.wait_for(timeout=90_000)
    tmp = Path(served["log"]).parent
    logs = tmp / "state" / "ibkr-desk" / "logs"
    gateway_logs = list(logs.glob("gateway-sim-*.log"))

    assert gateway_logs and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in gateway_logs)
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp / "cert" / "key.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/_stcore/metrics", "/_stcore/host-config", "/orders"])
def test_a_foreign_host_header_is_refused_on_every_path(served, path):
    port = served["port"]
    for host in (f"{EVIL}:{port}", EVIL, f"127.0.0.1.{EVIL}:{port}"):
        r = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}, timeout=10)
        assert r.status_code == 400 and r.text == "Invalid host header", (host, r.status_code)
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        r = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}, timeout=10)
        assert r.status_code == 200, (host, r.status_code)


def test_the_websocket_is_refused_under_a_foreign_host(served):
    port = served["port"]
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    for origin in (None, f"http://{EVIL}:{port}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, host=f"{EVIL}:{port}", origin=origin, suppress_origin=origin is None,
                                        subprotocols=["streamlit"], timeout=10)
        assert refused.value.status_code == 400

    ws = websocket.create_connection(url, host=f"localhost:{port}", origin=f"http://localhost:{port}",
                                     subprotocols=["streamlit"], timeout=10)
    try:
        assert ws.getstatus() == 101
    finally:
        ws.close()


def test_a_rebinding_page_in_chromium_gets_no_app_while_localhost_does(served, rebinding_browser):
    context = rebinding_browser.new_context()
    try:
        page = context.new_page()
        answer = page.goto(f"http://{EVIL}:{served['port']}/")
        assert answer is not None and answer.status == 400
        assert page.inner_text("body").strip() == "Invalid host header"
        assert page.locator("[data-testid='stApp']").count() == 0
        # the page's own scripts cannot reach the app under that name either
        status = page.evaluate("() => fetch('/_stcore/health').then(r => r.status)")
        assert status == 400

        page.goto(f"http://localhost:{served['port']}/")
        page.locator("[data-testid='stApp']").wait_for(timeout=60_000)
        page.get_by_text("IBKR Desk").first.wait_for(timeout=60_000)
    finally:
        context.close()


def test_xsrf_protection_is_on(served):
    base = f"http://127.0.0.1:{served['port']}"
    with requests.Session() as http:
        health = http.get(f"{base}/_stcore/health", timeout=10)
        assert "_streamlit_xsrf" in health.cookies  # Streamlit hands out the token only when the check is on
        upload = http.put(f"{base}/_stcore/upload_file/some-session/some-file", files={"file": ("a.txt", b"x")},
                          timeout=10)
        assert upload.status_code == 403  # the cookie alone, without the token in the header, is refused


def test_the_pages_run_by_plain_streamlit_run_show_only_how_to_start_the_dashboard(tmp_path, page):
    # REVIEW-RELIABILITY 1: `streamlit run ibkr_desk/app.py` listens on every interface by default, with no Host check:
    # the pages refuse to draw there (no portfolio, no ticket, no gateway started) and say what to run instead.
    ui_port, gw_port = free_port(), free_port()
    env = dict(os.environ, IBKR_GATEWAY_MODE="sim", IBKR_GATEWAY_URL=f"https://localhost:{gw_port}",
               IBKR_SIM_CERT_DIR=str(tmp_path / "cert"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "streamlit", "run", "ibkr_desk/app.py", "--server.address", "127.0.0.1",
            "--server.port", str(ui_port), "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]
    with streamlit_process(argv, ui_port, tmp_path / "streamlit.log", env):
        page.goto(f"http://127.0.0.1:{ui_port}/")
        page.get_by_text("started without its protections").first.wait_for(timeout=60_000)
        text = page.get_by_test_id("stMain").inner_text()
        assert "python -m ibkr_desk" in text and "make run" in text, text
        assert "Net liquidation" not in text and page.get_by_role("link", name="Orders").count() == 0
        assert not port_open(gw_port), "no gateway may be started for a page that is refused"
    assert not port_open(ui_port)


# ---- served to a team: 0.0.0.0 with sign-in -------------------------------------------------------------------
@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory, provider) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("hosted")
    ui_port = free_port()
    cookie_secret = secrets.token_hex(32)
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(f"""[auth]
redirect_uri = "http://localhost:{ui_port}/oauth2callback"
cookie_secret = "{cookie_secret}"
client_id = "ibkr-desk"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    secrets_file.chmod(0o600)
    with streamlit_app(tmp, args=["--secrets.files", str(secrets_file), "--server.address", "0.0.0.0"],
                       ui_port=ui_port, sim_auto_login="true", refresh_seconds="60") as running:
        yield {**running, "url": f"http://localhost:{ui_port}", "port": ui_port, "cookie_secret": cookie_secret}


def forged_user_cookie(secret: str, port: int) -> str:
    """A ``_streamlit_user`` cookie as Streamlit's callback writes it, signed with ``secret``."""
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    payload = json.dumps({"origin": f"http://localhost:{port}", "is_logged_in": True, "email": "eve@evil.example"})
    return create_signed_value(secret, "_streamlit_user", payload).decode()


def test_with_signin_it_may_serve_every_interface_and_internal_endpoints_need_a_signed_in_user(hosted, page):
    assert listening(hosted["port"]) == {"0.0.0.0"}
    base = f"http://127.0.0.1:{hosted['port']}"

    metrics = requests.get(f"{base}/_stcore/metrics", timeout=10)
    assert metrics.status_code == 403
    wrong_key = forged_user_cookie(secrets.token_hex(32), hosted["port"])
    assert requests.get(f"{base}/_stcore/metrics", cookies={"_streamlit_user": wrong_key},
                        timeout=10).status_code == 403
    assert requests.get(f"{base}/_stcore/agent/openapi.json", timeout=10).status_code == 403
    anonymous = requests.get(f"{base}/_stcore/host-config", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json()["allowedOrigins"] == []
    assert requests.get(f"{base}/_stcore/health", timeout=10).text == "ok"  # what a load balancer probes

    page.goto(hosted["url"])
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill("ada@desk.example")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.get_by_text("ada@desk.example").first.wait_for(timeout=60_000)
    page.get_by_text("Net liquidation").first.wait_for(timeout=90_000)  # signed in, the dashboard draws

    signed_in = page.context.request.get(f"{hosted['url']}/_stcore/metrics")
    assert signed_in.status == 200 and "cache" in signed_in.text()
    real = page.context.request.get(f"{hosted['url']}/_stcore/host-config")
    assert real.status == 200 and real.json()["allowedOrigins"]  # Streamlit's own answer, with its origins

    # no secret and no cookie in the console or the gateway's log
    cookies = [c["value"] for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    written = Path(hosted["log"]).read_text() + "".join(
        p.read_text() for p in (Path(hosted["log"]).parent / "state").rglob("*.log"))
    for secret in [hosted["cookie_secret"], *cookies]:
        assert secret and secret not in written
    assert cookies and not any(c in page.content() for c in cookies)
