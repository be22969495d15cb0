"""The trading day (tests/e2e/trading_day.py) for 3 minutes at 3 x 5,000 positions with the default refresh:
no 429, exactly the orders meant, no page error. How fast each Submit reached the gateway is a figure, not an
assertion here (no timing in tests): `make soak` runs the same day for 10 minutes, fails when a Submit took
over 2 s, and writes its figures into BENCHMARKS.md."""

from __future__ import annotations

import pytest

from tests.dashboard_harness import streamlit_app
from tests.e2e.trading_day import run_day

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MINUTES, POSITIONS = 3.0, 5000


def test_a_trading_day_at_three_times_five_thousand_positions(browser, artifacts_dir, tmp_path):
    # Before: locked out of IBKR's pacing four times in 50 minutes, a Submit ~30 s behind a portfolio reload.
    with streamlit_app(tmp_path, sim_auto_login="true", trading_enabled="true",
                       sim_positions=str(POSITIONS)) as app:
        report = run_day(app, browser, artifacts_dir, MINUTES, POSITIONS)
    print(report.summary())
    assert report.errors == []
    assert report.rate_limited == 0, report.requests
    assert report.unexpected == [] and report.wrong == []
    assert len(report.meant) >= 2 and report.lookups >= 4 and report.previews >= 4
    assert len(report.submit_delays) == len(report.meant)
    assert len(report.screenshots) >= 2 * (len({"overview", "positions", "margin", "currency", "gateway"}) + 2)
