"""Safe by default (issue Team, SECURITY.md): a gateway off loopback only over verified TLS, files only the user
reads, the simulator on loopback only, and what counts as loopback and as configured sign-in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ibkr.config import Settings, is_loopback_host, load_settings
from ibkr.errors import ConfigurationError
from ibkr.state import open_private
from ibkr_desk import hosting
from ibkr_sim.infra.certs import ensure_certificate

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def external(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    monkeypatch.setenv("IBKR_GATEWAY_MODE", "external")
    for name in ("IBKR_VERIFY_SSL", "IBKR_ALLOW_INSECURE_GATEWAY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# ---- the gateway off loopback ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "verify", "why"), [
    ("http://10.1.2.3:5000", "true", "plain http to another machine"),
    ("http://gw.example:5000", None, "plain http to another machine"),
    ("https://gw.example:5000", None, "IBKR_VERIFY_SSL=false"),
    ("https://10.1.2.3:5000", "false", "IBKR_VERIFY_SSL=false"),
])
def test_a_remote_gateway_over_http_or_unverified_is_refused_in_one_line(external, url, verify, why):
    external.setenv("IBKR_GATEWAY_URL", url)
    if verify is not None:
        external.setenv("IBKR_VERIFY_SSL", verify)

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    message = raised.value.message
    assert "\n" not in message and message.startswith(f"IBKR_GATEWAY_URL={url} ")
    assert why in message and "IBKR_ALLOW_INSECURE_GATEWAY=true" in message


@pytest.mark.parametrize(("url", "verify", "insecure"), [
    ("https://gw.example:5000", "true", None),            # verified
    ("http://10.1.2.3:5000", None, "true"),               # the operator accepts it
    ("https://gw.example:5000", "false", "true"),
    ("http://localhost:5000", None, None),                # loopback: only local processes are on the way
    ("https://127.0.0.1:5000", "false", None),
    ("https://[::1]:5000", "false", None),
])
def test_a_verified_remote_gateway_a_local_one_or_an_explicit_insecure_setting_loads(external, url, verify, insecure):
    external.setenv("IBKR_GATEWAY_URL", url)
    if verify is not None:
        external.setenv("IBKR_VERIFY_SSL", verify)
    if insecure is not None:
        external.setenv("IBKR_ALLOW_INSECURE_GATEWAY", insecure)

    assert load_settings().gateway_url == url


def test_a_pinned_certificate_is_verification(external, tmp_path):
    cert, _ = ensure_certificate(tmp_path / "gw-cert")
    external.setenv("IBKR_GATEWAY_URL", "https://gw.example:5000")
    external.setenv("IBKR_VERIFY_SSL", str(cert))

    assert load_settings().tls_verify == cert


def test_the_library_refuses_it_too():
    with pytest.raises(ValueError, match="IBKR_ALLOW_INSECURE_GATEWAY"):
        Settings(_env_file=None, gateway_mode="external", gateway_url="http://gw.example:5000")


def test_the_dashboard_stops_with_exit_code_3_on_an_unverified_remote_gateway(tmp_path):
    env = dict(os.environ, IBKR_GATEWAY_MODE="external", IBKR_GATEWAY_URL="http://10.1.2.3:5000",
               XDG_STATE_HOME=str(tmp_path))
    env.pop("IBKR_ALLOW_INSECURE_GATEWAY", None)
    done = subprocess.run([sys.executable, "-m", "ibkr_desk"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "IBKR_ALLOW_INSECURE_GATEWAY=true" in lines[0], done.stderr


# ---- files ----------------------------------------------------------------------------------------------------
def test_the_simulator_key_is_created_0600_whatever_the_umask(tmp_path):
    old = os.umask(0o000)
    try:
        cert, key = ensure_certificate(tmp_path / "certs")
    finally:
        os.umask(old)

    assert mode(key) == 0o600
    assert not (tmp_path / "certs" / "key.tmp").exists()
    assert b"PRIVATE KEY" in key.read_bytes() and b"CERTIFICATE" in cert.read_bytes()


def test_a_stale_temporary_key_is_replaced_not_reused(tmp_path):
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "key.tmp").write_text("left over")
    (folder / "key.tmp").chmod(0o644)

    _, key = ensure_certificate(folder)

    assert mode(key) == 0o600 and b"PRIVATE KEY" in key.read_bytes()


def test_log_and_pid_files_are_private_new_or_old(tmp_path):
    old = os.umask(0o000)
    try:
        with open_private(tmp_path / "logs" / "gateway.log", "ab") as out:
            out.write(b"one\n")
        existing = tmp_path / "logs" / "old.log"
        existing.write_text("before\n")
        existing.chmod(0o644)
        with open_private(existing, "a") as out:
            out.write("after\n")
        with open_private(tmp_path / "gateway.pid", "w") as out:
            out.write("123")
    finally:
        os.umask(old)

    assert mode(tmp_path / "logs") == 0o700
    assert mode(tmp_path / "logs" / "gateway.log") == 0o600
    assert mode(existing) == 0o600 and existing.read_text() == "before\nafter\n"
    assert mode(tmp_path / "gateway.pid") == 0o600 and (tmp_path / "gateway.pid").read_text() == "123"


# ---- the simulator on loopback --------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_the_simulator_refuses_to_listen_beyond_loopback(tmp_path, host):
    done = subprocess.run([sys.executable, "-m", "ibkr_sim", "--host", host, "--port", "0",
                           "--cert-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert "is not loopback" in done.stderr
    assert not (tmp_path / "key.pem").exists()  # it stopped before anything was made


# ---- what is loopback, what is sign-in ------------------------------------------------------------------------
@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("192.0.2.2", False), ("desk.example", False),
])
def test_loopback_addresses(address, loopback):
    assert hosting.is_loopback(address) is loopback
    if address:
        assert is_loopback_host(address) is loopback


def test_ipv6_hosts_are_allowed_bracketed_and_bare():
    assert hosting.host_patterns(["localhost", "::1", "Desk.Example"]) == ["localhost", "::1", "[::1]",
                                                                         "desk.example"]


AUTH = """[auth]
redirect_uri = "https://desk.example/oauth2callback"
cookie_secret = "0123456789abcdef0123456789abcdef"
"""
PROVIDER = """client_id = "desk"
client_secret = "s3cret"
server_metadata_url = "https://idp.example/.well-known/openid-configuration"
"""


@pytest.mark.parametrize(("text", "configured"), [
    (AUTH + PROVIDER, True),                                  # the default provider, in [auth] itself
    (AUTH + "\n[auth.google]\n" + PROVIDER, True),            # a named provider
    (AUTH, False),                                            # no provider
    (PROVIDER, False),                                        # no [auth] section
    ("[auth]\n" + PROVIDER, False),                           # no redirect_uri nor cookie_secret
    (AUTH + PROVIDER.replace('client_secret = "s3cret"\n', ""), False),
    ("this is [not toml", False),
])
def test_signin_is_configured_only_as_st_login_needs_it(tmp_path, text, configured):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(text)

    assert hosting.signin_configured([str(tmp_path / "missing.toml"), str(secrets)]) is configured


def test_signin_found_in_the_files_streamlit_reads(tmp_path, monkeypatch):
    from streamlit import config

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(AUTH + PROVIDER)
    monkeypatch.setattr(config, "get_option", lambda key: [str(secrets)] if key == "secrets.files" else None)

    assert hosting.signin_configured() is True


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"address": "0.0.0.0"}, "needs sign-in"),
    ({"address": ""}, "every interface"),
    ({"allowed_hosts": ["*"]}, "IBKR_ALLOWED_HOSTS=*"),
    ({"allowed_hosts": ["localhost", "desk.example.com"]}, "IBKR_ALLOWED_HOSTS names desk.example.com"),
    ({"xsrf": False}, "server.enableXsrfProtection"),
    ({"xsrf": False, "signin": True}, "server.enableXsrfProtection"),
    ({"cors": False, "address": "0.0.0.0", "signin": True}, "server.enableCORS"),
])
def test_start_up_problems(kwargs, says):
    given = {"address": "127.0.0.1", "allowed_hosts": ["localhost"], "xsrf": True, "cors": True, "signin": False,
             **kwargs}
    problem = hosting.startup_problem(**given)

    assert problem is not None and says in problem and "\n" not in problem


@pytest.mark.parametrize("kwargs", [{}, {"address": "0.0.0.0", "signin": True},
                                    {"allowed_hosts": ["*"], "signin": True},
                                    {"allowed_hosts": ["desk.example.com"], "signin": True},
                                    {"allowed_hosts": ["localhost", "127.0.0.1", "::1"]}])
def test_what_may_start(kwargs):
    given = {"address": "127.0.0.1", "allowed_hosts": ["localhost"], "xsrf": True, "cors": True, "signin": False,
             **kwargs}
    assert hosting.startup_problem(**given) is None


def _gated_page() -> None:
    import streamlit as st

    from ibkr_desk import auth

    auth.gate()
    st.write("the dashboard's content")


@pytest.mark.parametrize(("auth_section", "says"), [
    ({"redirect_uri": "http://localhost:8501/oauth2callback"}, "cookie_secret"),
    ({"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32}, "no provider"),
])
def test_an_incomplete_signin_shows_nothing_rather_than_falling_back_to_the_single_user_tool(auth_section, says):
    # The running pages and the start-up check apply one rule (hosting.signin_problem): an operator who meant to
    # share the dashboard must not get a dashboard where every visitor is the admin.
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_gated_page)
    at.secrets["auth"] = auth_section
    at.run()

    assert not at.exception
    assert [e.value for e in at.error] and "incompletely" in at.error[0].value and says in at.error[0].value
    assert "the dashboard's content" not in [m.value for m in at.markdown]


def test_without_an_auth_section_the_page_is_the_single_user_local_tool():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_gated_page).run()

    assert not at.exception and not at.error
    assert "the dashboard's content" in [m.value for m in at.markdown]
    assert any("Single-user local dashboard" in c.value for c in at.sidebar.caption)
