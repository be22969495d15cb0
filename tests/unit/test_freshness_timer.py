"""A page's freshness timer (``ibkr_desk.ui.loaders.poll_seconds``) follows IBKR_REFRESH_SECONDS between 1 s and
5 s: the settings accept any positive refresh, and each open page runs its own timer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ibkr_desk.ui import loaders, services


@pytest.mark.parametrize(("refresh", "timer"), [(0.001, 1.0), (0.1, 1.0), (1.0, 1.0), (3.0, 3.0), (30.0, 5.0)])
def test_a_pages_freshness_timer_looks_at_most_once_a_second_whatever_the_refresh(monkeypatch, refresh, timer):
    monkeypatch.setattr(services, "settings", lambda: SimpleNamespace(refresh_seconds=refresh))
    assert loaders.poll_seconds() == timer
