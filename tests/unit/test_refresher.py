"""The one background portfolio reader: readers never load, the schedule stretches for slow reads and backs off
after failures, and a gateway without a session is not asked."""

from __future__ import annotations

import threading
import time

import pytest

from ibkr.errors import GatewayUnavailable, RateLimited
from ibkr.refresher import Refresher


class Source:
    def __init__(self, seconds: float = 0.0, fail: Exception | None = None) -> None:
        self.calls, self.seconds, self.fail = 0, seconds, fail
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> int:
        self.calls += 1
        self.release.wait(10)
        time.sleep(self.seconds)
        if self.fail is not None:
            raise self.fail
        return self.calls


@pytest.fixture
def started():
    made: list[Refresher] = []

    def start(source, interval, **kwargs) -> Refresher:
        made.append(Refresher(source, interval, **kwargs).start())
        return made[-1]

    yield start
    for refresher in made:
        refresher.stop()


def test_a_slow_read_stretches_the_interval_so_it_runs_at_most_a_third_of_the_time(started):
    refresher = started(Source(seconds=0.3), 0.1, headroom=3.0)
    assert refresher.wait(0, timeout=10)
    status = refresher.status()
    assert status.value == 1 and status.error is None
    assert status.last_duration >= 0.3 and status.interval == pytest.approx(3 * status.last_duration)
    time.sleep(0.5)
    assert refresher.status().generation == 1, "the next read waits for the stretched interval"


def test_time_a_read_was_only_held_back_does_not_stretch_the_interval(started):
    held = {"seconds": 0.0}

    def read() -> int:  # 0.4 s, of which 0.3 s waiting for an endpoint's slot (pacing.held_seconds)
        time.sleep(0.4)
        held["seconds"] += 0.3
        return 1

    refresher = started(read, 0.1, headroom=3.0, held=lambda: held["seconds"])
    assert refresher.wait(0, timeout=10)
    status = refresher.status()
    assert 0.1 <= status.last_duration < 0.3
    assert status.interval == pytest.approx(3 * status.last_duration)


def test_a_failure_keeps_the_last_good_value_and_waits_out_ibkrs_retry_after(started):
    source = Source()
    refresher = started(source, 0.05)
    assert refresher.wait(0, timeout=10)
    source.fail = RateLimited("paced", retry_after=60)
    assert refresher.wait(refresher.status().generation, timeout=10)  # the next read fails
    status = refresher.status()
    assert status.value is not None and "paced" in status.error and status.failed_at is not None
    calls = source.calls
    time.sleep(0.5)
    assert source.calls == calls, "nothing is asked again inside IBKR's penalty"


def test_a_gateway_without_a_session_is_not_asked_and_refresh_now_while_reading_loads_once(started):
    ready = threading.Event()
    source = Source()
    refresher = started(source, 60, ready=ready.is_set)
    time.sleep(0.4)
    assert source.calls == 0 and refresher.status().generation == 0
    source.release.clear()
    ready.set()
    deadline = time.monotonic() + 10
    while refresher.status().loading_since is None and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(5):
        refresher.request()  # "Refresh now" hammered while the first read runs: that read is the answer
    source.release.set()
    assert refresher.wait(0, timeout=10)
    time.sleep(0.3)
    assert source.calls == 1
    refresher.request()
    assert refresher.wait(1, timeout=10) and source.calls == 2  # asked when idle, it reads (after MIN_GAP)


def test_an_unexpected_error_is_reported_and_the_thread_lives_on(started):
    source = Source(fail=ZeroDivisionError("boom"))
    refresher = started(source, 0.05)
    assert refresher.wait(0, timeout=10)
    assert "ZeroDivisionError: boom" in refresher.status().error
    source.fail = GatewayUnavailable("down")
    assert refresher.wait(1, timeout=10) and refresher.status().error == "down"
    source.fail = None
    assert refresher.wait(2, timeout=10) and refresher.status().error is None
