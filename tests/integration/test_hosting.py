"""``python -m ibkr_desk`` refuses to serve beyond loopback without sign-in, whichever way the address is given
(command line, Streamlit's environment variable, a config.toml), and refuses XSRF or CORS protection turned off:
exit code 3, one line that says what to set, and nothing listening."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dashboard_harness import ROOT, free_port, port_open


def start(tmp: Path, *args: str, cwd: Path | None = None, **env: str) -> tuple[subprocess.CompletedProcess, int]:
    port = free_port()
    full = dict(os.environ, XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "cache"),
                IBKR_SIM_CERT_DIR=str(tmp / "cert"), IBKR_GATEWAY_URL=f"https://localhost:{free_port()}", **env)
    for name in ("STREAMLIT_SERVER_ADDRESS", "STREAMLIT_SECRETS_FILES", "IBKR_ALLOWED_HOSTS"):
        if name not in env:
            full.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "ibkr_desk", "--server.port", str(port), *args], cwd=cwd or tmp,
                          env=full, capture_output=True, text=True, timeout=90)
    return done, port


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and not done.stdout.strip()
    return lines[0]


@pytest.mark.parametrize(("args", "env", "shown"), [
    (["--server.address", "0.0.0.0"], {}, "0.0.0.0"),
    (["--server.address=::"], {}, "::"),
    (["--server.address", "192.0.2.2"], {}, "192.0.2.2"),
    ([], {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}, "0.0.0.0"),
], ids=["flag 0.0.0.0", "flag ::", "flag LAN address", "STREAMLIT_SERVER_ADDRESS"])
def test_a_non_loopback_address_without_signin_refuses_to_start(tmp_path, args, env, shown):
    done, port = start(tmp_path, *args, **env)

    assert done.returncode == 3
    line = one_line(done)
    assert line.startswith(f"ibkr-desk: serving on {shown} (not loopback) needs sign-in")
    assert "[auth]" in line and ".streamlit/secrets.toml" in line and "127.0.0.1" in line
    assert not port_open(port)


def test_the_address_in_a_config_toml_is_held_to_the_same(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\naddress = "0.0.0.0"\n')

    done, port = start(tmp_path, cwd=tmp_path)

    assert done.returncode == 3 and "serving on 0.0.0.0 (not loopback) needs sign-in" in one_line(done)


def test_a_secrets_file_without_a_provider_is_no_signin(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "x"\n')

    done, _ = start(tmp_path, "--secrets.files", str(secrets), "--server.address", "0.0.0.0")

    assert done.returncode == 3 and "needs sign-in" in one_line(done)


@pytest.mark.parametrize(("args", "env", "says"), [
    (["--server.enableXsrfProtection", "false"], {}, "server.enableXsrfProtection is off"),
    ([], {"STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION": "false"}, "server.enableXsrfProtection is off"),
    (["--server.enableCORS", "false"], {}, "server.enableCORS is off"),
    ([], {"IBKR_ALLOWED_HOSTS": "*"}, "IBKR_ALLOWED_HOSTS=* accepts any Host header"),
], ids=["xsrf flag", "xsrf env", "cors flag", "any host"])
def test_turning_a_protection_off_refuses_to_start(tmp_path, args, env, says):
    done, port = start(tmp_path, *args, **env)

    assert done.returncode == 3 and says in one_line(done)
    assert not port_open(port)


def test_serve_py_alone_is_held_to_the_same(tmp_path):
    """``streamlit run ibkr_desk/serve.py`` skips python -m ibkr_desk's check; the module checks again."""
    port = free_port()
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("STREAMLIT_SECRETS_FILES", None)
    done = subprocess.run([sys.executable, "-m", "streamlit", "run", str(ROOT / "ibkr_desk" / "serve.py"),
                           "--server.address", "0.0.0.0", "--server.port", str(port), "--server.headless", "true"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)

    assert done.returncode == 3
    assert "ibkr-desk: serving on 0.0.0.0 (not loopback) needs sign-in" in done.stderr
