"""Fixtures shared by the unit tests (see tests/fixtures/ibkr_client.py)."""

from tests.fixtures.ibkr_client import client, clock, gateway, limiter, settings, sleeps, transport  # noqa: F401
