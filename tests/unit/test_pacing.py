"""The pacing limiter keeps IBKR's global and per-endpoint limits, across threads, on a fake clock."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from ibkr import pacing
from ibkr.config import Settings
from ibkr.errors import RateLimited
from ibkr.pacing import PacingLimiter
from ibkr.transport import Transport
from tests.fixtures.ibkr_client import FakeClock


def recording_limiter(clock: FakeClock) -> tuple[PacingLimiter, list[tuple[str, str, float]]]:
    admitted: list[tuple[str, str, float]] = []
    limiter = PacingLimiter(clock=clock, sleep=clock.sleep, observer=lambda m, p, t: admitted.append((m, p, t)))
    return limiter, admitted


def max_in_window(times: list[float], window: float) -> int:
    """The most timestamps inside any half-open interval [t, t + window)."""
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t < start + window))
    return best


def test_per_endpoint_window_spaces_live_order_calls_more_than_five_seconds():
    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)

    for _ in range(3):
        with limiter.slot("GET", "/iserver/account/orders"):
            pass

    times = [t for _, _, t in admitted]
    assert [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)] == [5.5, 5.5]


def test_time_held_back_by_an_endpoints_limit_is_counted_apart_from_the_gateways_rate():
    from ibkr.pacing import held_seconds

    clock = FakeClock()
    limiter, _ = recording_limiter(clock)
    before = held_seconds()
    for _ in range(3):  # 1 per 5.5 s: two waits of 5.5 s for the endpoint
        with limiter.slot("GET", "/iserver/account/orders"):
            pass
    assert held_seconds() - before == pytest.approx(11.0)
    before, start = held_seconds(), clock()
    for page in range(40):  # only the gateway's rate holds these back: time the gateway is busy, not held
        with limiter.slot("GET", f"/portfolio/DU1/positions/{page}"):
            pass
    assert clock() - start > 3 and held_seconds() == before


def test_global_window_never_lets_a_tenth_request_into_a_second():
    from ibkr.pacing import GLOBAL_LIMIT

    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)

    for page in range(40):
        with limiter.slot("GET", f"/portfolio/DU1/positions/{page}"):
            pass

    times = [t for _, _, t in admitted]
    assert max_in_window(times, 1.0) == GLOBAL_LIMIT  # 8: below IBKR's 10, room for the keep-alive thread
    assert times[-1] - times[0] >= (40 - GLOBAL_LIMIT) / GLOBAL_LIMIT  # no faster than that per second


def test_limits_hold_across_threads_and_endpoints():
    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    paths = ["/portfolio/DU1/positions/0", "/iserver/account/orders", "/portfolio/accounts", "/tickle",
             "/iserver/marketdata/snapshot", "/iserver/account/pnl/partitioned"]
    methods = {"/tickle": "POST"}

    def worker(offset: int) -> None:
        for i in range(15):
            path = paths[(i + offset) % len(paths)]
            with limiter.slot(methods.get(path, "GET"), path):
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(admitted) == 60
    assert max_in_window([t for _, _, t in admitted], 1.0) <= 9
    by_path: dict[str, list[float]] = defaultdict(list)
    for _, path, t in admitted:
        by_path[path].append(t)
    for path in ("/iserver/account/orders", "/portfolio/accounts", "/iserver/account/pnl/partitioned"):
        assert max_in_window(by_path[path], 5.0) == 1, path
    assert max_in_window(by_path["/tickle"], 1.0) == 1


def test_history_requests_run_at_most_five_at_once():
    limiter = PacingLimiter(clock=FakeClock(), sleep=lambda s: None)
    release = threading.Event()
    inside = []
    lock = threading.Lock()
    peak = []

    def fetch() -> None:
        with limiter.slot("GET", "/iserver/marketdata/history"):
            with lock:
                inside.append(1)
                peak.append(len(inside))
            release.wait(5)
            with lock:
                inside.pop()

    threads = [threading.Thread(target=fetch) for _ in range(7)]
    for t in threads:
        t.start()
    for _ in range(100):
        if len(inside) == 5:
            break
        threading.Event().wait(0.01)
    held = len(inside)
    release.set()
    for t in threads:
        t.join(timeout=10)

    assert held == 5
    assert max(peak) == 5 and len(peak) == 7


def test_a_pause_after_429_holds_requests_back_and_a_long_one_raises():
    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    start = clock()

    limiter.pause(3.0)
    with limiter.slot("GET", "/portfolio/DU1/ledger"):
        pass
    limiter.pause(600.0)

    assert admitted[0][2] - start >= 3.0
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("GET", "/portfolio/DU1/ledger", max_pause=30)
    assert caught.value.retry_after == pytest.approx(600.0)


@pytest.mark.parametrize("method, path, limit, at_least", [
    ("GET", "/iserver/account/orders", 1, 5.0),
    ("GET", "/iserver/account/trades", 1, 5.0),
    ("GET", "/iserver/account/pnl/partitioned", 1, 5.0),
    ("GET", "/portfolio/accounts", 1, 5.0),
    ("GET", "/portfolio/subaccounts", 1, 5.0),
    ("POST", "/tickle", 1, 1.0),
    ("GET", "/sso/validate", 1, 60.0),
    ("GET", "/iserver/scanner/params", 1, 900.0),
    ("POST", "/iserver/scanner/run", 1, 1.0),
    ("GET", "/fyi/unreadnumber", 1, 1.0),
])
def test_default_rules_sit_just_below_ibkrs_limits(method, path, limit, at_least):
    (rule,) = PacingLimiter().rules_for(method, path)

    assert rule.limit == limit
    assert at_least < rule.period <= at_least * 1.2


def test_snapshot_stays_below_ten_per_second():
    (rule,) = PacingLimiter().rules_for("GET", "/iserver/marketdata/snapshot")

    assert rule.limit / rule.period < 10


def test_one_limiter_per_process_is_shared_by_every_transport():
    settings = Settings(gateway_url="https://gw.test:5000", verify_ssl=False, allow_insecure_gateway=True)

    first, second = Transport(settings), Transport(settings)

    assert first.limiter is second.limiter is pacing.LIMITER is pacing.default_limiter()


def test_a_slow_request_counts_from_when_it_finished():
    # Arrange: a 1-per-5s endpoint whose first request takes 3 s to come back (e.g. a new TLS connection).
    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    with limiter.slot("GET", "/portfolio/accounts"):
        clock.sleep(3.0)
    # Act
    with limiter.slot("GET", "/portfolio/accounts"):
        pass
    # Assert: the second one waits a full window after the first one finished, not after it started.
    times = [t for _, _, t in admitted]
    assert times[1] - (times[0] + 3.0) >= 5.0


def test_a_request_that_timed_out_counts_until_the_gateways_own_cut_off():
    # REVIEW-RELIABILITY 3b: a read given up after a 2 s timeout reached IBKR 4 s after it was sent (the gateway
    # was slow); its retry, 5.5 s after the timeout, came 3.5 s after it at IBKR's end, and IBKR answered 429.
    from ibkr.pacing import GATEWAY_CUTOFF_SECONDS

    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    with limiter.slot("GET", "/portfolio/accounts") as held:
        clock.sleep(2.0)
        held.unanswered = True  # the client's timeout
    with limiter.slot("GET", "/portfolio/accounts"):
        pass
    times = [t for _, _, t in admitted]
    assert times[1] - times[0] >= GATEWAY_CUTOFF_SECONDS + 5.0  # a full window after the gateway would give up
    with limiter.slot("GET", "/portfolio/accounts"):  # an answered request counts from its answer, as before
        clock.sleep(1.0)
    with limiter.slot("GET", "/portfolio/accounts"):
        pass
    times = [t for _, _, t in admitted]
    assert 5.0 <= times[3] - (times[2] + 1.0) < 6.0


def test_requests_answered_after_one_that_timed_out_age_out_at_their_own_time():
    # The timed-out request counts until the gateway's cut-off; those answered after it must not be held in the
    # window until then too (they were: every later stamp became max(now, cut-off), and after 8 of them the whole
    # gateway stood still until the cut-off had passed).
    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    with limiter.slot("GET", "/iserver/marketdata/snapshot") as held:
        clock.sleep(2.0)
        held.unanswered = True
    clock.sleep(1.0)
    for _ in range(14):  # two windows' worth of quick answers
        with limiter.slot("GET", "/iserver/contract/1/info"):
            pass
    times = [t for _, path, t in admitted if path != "/iserver/marketdata/snapshot"]
    assert times[-1] - times[0] < 2.5, times  # about one second per 7 free places, not until the cut-off (10 s)
    assert max_in_window(times, 1.0) <= 7  # one place of the 8 still held by the unanswered request


def test_requests_held_up_in_flight_keep_their_place_in_the_window_until_they_finish():
    # A starved machine: 8 requests admitted, none has reached the gateway 2 s later. Letting 8 more in because
    # the first 8 "aged out" would put 16 into the second in which they all arrive, and IBKR answers 429.
    from ibkr.pacing import GLOBAL_LIMIT

    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    held = [limiter.acquire("GET", f"/portfolio/DU1/positions/{n}") for n in range(GLOBAL_LIMIT)]
    clock.sleep(2.0)

    late = threading.Thread(target=lambda: limiter.release(limiter.acquire("GET", "/portfolio/DU1/ledger")))
    late.start()
    late.join(0.3)
    assert late.is_alive(), "a ninth request got in while eight were still in flight"

    finished_at = clock()
    limiter.release(held.pop())  # one finishes: it still counts for one period after it finished
    late.join(5)
    assert not late.is_alive()
    for windows in held:
        limiter.release(windows)
    assert admitted[-1][1] == "/portfolio/DU1/ledger"
    assert admitted[-1][2] >= finished_at + pacing.GLOBAL_PERIOD


def test_a_restarted_process_takes_up_the_long_windows_and_a_penalty_where_the_last_one_left_them(tmp_path):
    # IBKR's once-a-minute /sso/validate and its penalty box know nothing of our processes: a dashboard restarted
    # 10 s after the last one validated must not validate again (it would be answered 429).
    store, wall = tmp_path / "pacing.json", FakeClock(1_800_000_000.0)
    first_clock = FakeClock(500.0)
    first = PacingLimiter(clock=first_clock, sleep=first_clock.sleep)
    first.persist(store, key="https://localhost:5000", wall=wall)
    with first.slot("GET", "/sso/validate"):
        pass
    with first.slot("GET", "/portfolio/DU1/summary"):  # a 1 s window: nothing to keep
        pass
    first.pause(30)  # a 429 came: the penalty outlives the process too

    wall.sleep(10)  # the process is gone; a new one starts 10 s later, with its own monotonic clock
    second_clock = FakeClock(9_000.0)
    second = PacingLimiter(clock=second_clock, sleep=second_clock.sleep)
    second.persist(store, key="https://localhost:5000", wall=wall)
    other = PacingLimiter(clock=second_clock, sleep=second_clock.sleep)
    other.persist(store, key="https://localhost:5001", wall=wall)

    assert second.paused_for() == pytest.approx(20, abs=0.01)
    assert second.ready_in("GET", "/portfolio/DU1/summary") == pytest.approx(20, abs=0.01)
    assert second.ready_in("GET", "/sso/validate") == pytest.approx(66 - 10, abs=0.01)  # IBKR: 1/min (+10 %)
    second_clock.sleep(56)
    assert second.ready_in("GET", "/sso/validate") == 0 and second.paused_for() == 0
    assert other.paused_for() == 0 and other.ready_in("GET", "/sso/validate") == 0  # another gateway's state


def test_an_order_never_queues_behind_a_portfolio_read_it_takes_the_next_free_slot():
    # A Submit reached the gateway ~30 s after the click, behind a reload's paged position reads.
    import time

    clock = FakeClock()
    limiter, admitted = recording_limiter(clock)
    held = [limiter.acquire("GET", f"/portfolio/DU1/positions/{n}") for n in range(pacing.GLOBAL_LIMIT)]

    def read(n: int) -> None:
        with limiter.slot("GET", f"/portfolio/DU2/positions/{n}"):
            pass

    readers = [threading.Thread(target=read, args=(n,)) for n in range(6)]
    for t in readers:
        t.start()
    time.sleep(0.2)  # the readers wait for the full window
    order = threading.Thread(target=lambda: limiter.slot("POST", "/iserver/account/DU1/orders").__enter__())
    order.start()
    time.sleep(0.2)
    for windows in held:
        limiter.release(windows)
    for t in [*readers, order]:
        t.join(timeout=10)

    after = [p for _, p, _ in admitted][pacing.GLOBAL_LIMIT:]
    assert after[0] == "/iserver/account/DU1/orders", after
    assert len(after) == 7
