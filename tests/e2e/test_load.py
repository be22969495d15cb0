"""The load run (bench/load.py, ``make load``) at a small scale: 3 sessions in Chromium for 40 s after a one-session
baseline of 40 s, at the fastest refresh, over every page. What it must find: no error on any page, no 429, and
the gateway asked no more often than for one session. Start times and memory are figures, not assertions here (no
timing in tests): ``make load`` runs 20 sessions for 5 minutes, judges memory too and writes BENCHMARKS.md."""

from __future__ import annotations

import pytest

from bench.load import MAX_CALLS_RATIO, PAGES, run_load

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SESSIONS, MINUTES = 3, 40 / 60


def test_three_sessions_at_the_fastest_refresh_cost_the_gateway_what_one_costs(artifacts_dir):
    report = run_load(SESSIONS, MINUTES, artifacts_dir)
    print(report.summary())
    assert report.load is not None and report.baseline is not None
    assert report.errors == []
    assert report.rate_limited == 0
    assert len(report.load.starts) == SESSIONS and len(report.baseline.starts) == 1
    assert report.load.visits >= len(PAGES)  # the sessions went round the pages, not only their first one
    assert report.calls_ratio <= MAX_CALLS_RATIO, (report.baseline.rates, report.load.rates)
