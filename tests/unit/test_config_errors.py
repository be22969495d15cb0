"""Bad settings stop start-up with one line that names the setting and a value that works (issue Faults)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ibkr.config import load_settings
from ibkr.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
BAD = [
    ("IBKR_GATEWAY_URL", "not a url", "must look like https://host:port", "IBKR_GATEWAY_URL=https://localhost:5000"),
    ("IBKR_GATEWAY_URL", "https://localhost:99999", "no valid port", "IBKR_GATEWAY_URL=https://localhost:5000"),
    ("IBKR_REFRESH_SECONDS", "0", "greater than 0", "IBKR_REFRESH_SECONDS=30"),
    ("IBKR_REFRESH_SECONDS", "-5", "greater than 0", "IBKR_REFRESH_SECONDS=30"),
    ("IBKR_TRADING_ENABLED", "maybe", "valid boolean", "IBKR_TRADING_ENABLED=false"),
    ("IBKR_SIM_ACCOUNTS", "0", "greater than or equal to 1", "IBKR_SIM_ACCOUNTS=3"),
    ("IBKR_GATEWAY_URL", "https://localhost:abc", "no valid port", "IBKR_GATEWAY_URL=https://localhost:5000"),
    ("IBKR_GATEWAY_MODE", "bogus", "'sim', 'local' or 'external'", "IBKR_GATEWAY_MODE=sim"),
    ("IBKR_REFRESH_SECONDS", "abc", "valid number", "IBKR_REFRESH_SECONDS=30"),
    ("IBKR_REQUEST_TIMEOUT", "0", "greater than 0", "IBKR_REQUEST_TIMEOUT=10"),
]


@pytest.mark.parametrize(("name", "value", "why", "example"), BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_a_bad_setting_is_one_line_naming_it_with_a_value_that_works(monkeypatch, name, value, why, example):
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    message = raised.value.message
    assert "\n" not in message and message.startswith(f"{name}={value!r} is not valid")
    assert why in message and example in message


@pytest.mark.parametrize("command", [["-m", "ibkr.gateway", "status"], ["-m", "ibkr_desk"]],
                         ids=["ibkr.gateway status", "ibkr_desk"])
def test_start_up_commands_stop_with_exit_code_3_and_no_traceback(command):
    env = dict(os.environ, IBKR_REFRESH_SECONDS="0")
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "IBKR_REFRESH_SECONDS='0' is not valid" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_certificate_file_that_is_not_there_stops_start_up_except_for_the_simulators_own(monkeypatch, tmp_path):
    missing = tmp_path / "gateway-ca.pem"
    monkeypatch.setenv("IBKR_GATEWAY_MODE", "external")
    monkeypatch.setenv("IBKR_VERIFY_SSL", str(missing))
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.message.startswith(f"IBKR_VERIFY_SSL={str(missing)!r} is not valid")
    assert "no certificate file" in raised.value.message and "IBKR_VERIFY_SSL=false" in raised.value.message
    missing.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_settings().verify_ssl == missing
    missing.unlink()
    monkeypatch.setenv("IBKR_GATEWAY_MODE", "sim")  # the simulator writes its certificate when it starts
    assert load_settings().verify_ssl == missing


def test_a_margin_warning_at_or_above_the_danger_level_stops_start_up(monkeypatch):
    # REVIEW-RELIABILITY C1: 95 over 90 was accepted, and the warning level (and its notification) never came.
    monkeypatch.setenv("IBKR_MARGIN_WARNING_PCT", "95")
    monkeypatch.setenv("IBKR_MARGIN_DANGER_PCT", "90")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.message == ("IBKR_MARGIN_WARNING_PCT=95 is not below IBKR_MARGIN_DANGER_PCT=90: the warning "
                                    "must come first; for example IBKR_MARGIN_WARNING_PCT=70 and "
                                    "IBKR_MARGIN_DANGER_PCT=90")
    monkeypatch.setenv("IBKR_MARGIN_WARNING_PCT", "80")
    assert load_settings().margin_thresholds == (0.8, 0.9)
