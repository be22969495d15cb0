"""The stream in Chromium: from a fill in the simulator to the change in the browser, and the REST calls a
minute with the stream on and off, one viewer and ten (``python -m bench live``, a few minutes; 13 on a
loaded machine).

For each of ``IBKR_STREAM=true`` and ``false``: ``python -m ibkr_desk`` in sim mode with auto-login (3 accounts,
20 positions each, prices frozen, pacing on, ``IBKR_REFRESH_SECONDS=30``); one viewer on the Orders page, then
:data:`FILLS` market orders placed through the simulator's REST API (their reply chains answered), each timed
from the moment the simulator answered it (the order is filled then) until the order's id shows in the live
orders table (a JS check on every animation frame); then REST calls to the gateway (``/sim/stats``, the
websocket and ``/sim`` not counted) over :data:`WINDOW` s with one viewer (the Overview) and with ten, with the
Streamlit process's CPU over the same windows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import cpu_seconds, measured
from bench.browser import _browser
from tests.dashboard_harness import streamlit_app, wait_drawn
from tests.integration.stream_support import AppGateway, place_market_order

FILLS = {True: 10, False: 3}
WINDOW = 30.0
AAPL = 265598
CELL = "(text) => [...document.querySelectorAll('[role=gridcell]')].some(c => c.innerText.trim() === text)"
SIDEBAR = "(text) => (document.querySelector('[data-testid=stSidebar]')?.innerText || '').includes(text)"


class _Gateway(AppGateway):
    def stats(self) -> dict:
        return self.admin("GET", "stats")

    def rest_calls(self) -> int:
        return sum(self.stats()["requests"].values())


def _open(browser, url: str, live: bool, sessions: int = 1) -> list:
    """``sessions`` fresh browser sessions on ``url``, opened together, each waited for until it is drawn and
    says Live (or Delayed)."""
    pages = []
    for _ in range(sessions):
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.set_default_timeout(600_000)
        page.goto(url, wait_until="commit")
        pages.append(page)
    for page in pages:
        wait_drawn(page, timeout=600_000)
        page.wait_for_function(SIDEBAR, arg="Live" if live else "Delayed", timeout=600_000)
    return pages


def _say(text: str) -> None:
    print(f"[bench live {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _calls_per_minute(gateway: _Gateway, pid: int) -> tuple[float, float]:
    calls, cpu, t0 = gateway.rest_calls(), cpu_seconds(pid), time.monotonic()
    time.sleep(WINDOW)
    elapsed = time.monotonic() - t0
    return (gateway.rest_calls() - calls) * 60 / elapsed, (cpu_seconds(pid) - cpu) / elapsed * 100


def measure(tmp: Path, stream: bool) -> dict:
    out: dict = {"stream": stream}
    with streamlit_app(tmp, sim_auto_login="true", refresh_seconds="30", stream=str(stream).lower()) as app, \
            _browser() as browser:
        _say(f"stream {'on' if stream else 'off'}: opening the Orders page")
        orders = _open(browser, f"{app['url']}/orders", stream)[0]
        orders.get_by_text("Trades, last 7 days").wait_for()
        orders.wait_for_function("() => /working of \\d+ in this/.test(document.body.innerText)")
        gateway = _Gateway(app)
        account = app["truth"].get(f"{app['gateway']}/sim/state", timeout=30).json()["accounts"][0]["id"]
        latencies = []
        for n in range(FILLS[stream]):
            order_id = place_market_order(gateway, account, AAPL, "BUY" if n % 2 == 0 else "SELL", 100)
            t0 = time.perf_counter()
            orders.wait_for_function(CELL, arg=str(order_id), timeout=120_000, polling="raf")
            latencies.append(time.perf_counter() - t0)
            _say(f"fill {n + 1}: {latencies[-1]:.2f} s")
        out["latencies"] = latencies
        orders.context.close()
        time.sleep(5)  # the order readers' rounds the fills asked for are over
        viewers = _open(browser, app["url"], stream)
        out["one"] = _calls_per_minute(gateway, app["pid"])
        _say(f"one viewer: {out['one']}; opening nine more")
        viewers += _open(browser, app["url"], stream, 9)
        out["ten"] = _calls_per_minute(gateway, app["pid"])
        _say(f"ten viewers: {out['ten']}")
        for page in viewers:
            page.context.close()
        out["ws"] = gateway.stats()["ws"].get("sent_total", 0)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run() -> str:
    results = []
    for stream in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(Path(tmp), stream))
    lines = [
        "## Live: from a fill to the browser, and REST calls with the stream on and off",
        "",
        measured("python -m bench live"),
        "",
        "`python -m ibkr_desk` in sim mode with auto-login (3 accounts, 20 positions each, prices frozen, pacing "
        "on, `IBKR_REFRESH_SECONDS=30`). *Fill to browser*: a market order placed through the simulator's REST "
        "API, timed from the simulator's answer (the order is filled) until its id shows in the Orders page's "
        "live orders table in Chromium. *REST calls a minute*: every request the gateway served over "
        f"{WINDOW:.0f} s (the websocket and `/sim` not counted) with one viewer on the Overview, then ten; "
        "*CPU*: the Streamlit process over the same window (100 % = one core).",
        "",
        "| stream | fills | fill to browser, median (s) | 95th percentile (s) | REST calls/min, 1 viewer "
        "| 10 viewers | CPU %, 1 viewer | 10 viewers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat = r["latencies"]
        lines.append(f"| {'on' if r['stream'] else 'off'} | {len(lat)} | {statistics.median(lat):.2f} "
                     f"| {_p95(lat):.2f} | {r['one'][0]:.0f} | {r['ten'][0]:.0f} | {r['one'][1]:.0f} "
                     f"| {r['ten'][1]:.0f} |")
    lines += [
        "",
        "With the stream on, daily P&L comes from `spl` (no `pnl/partitioned`), live orders and trades from "
        "`sor`/`str` (their REST readers read once after each connect, then every 120 s), and the 60 positions "
        "stream by `smd` (no snapshots); the portfolio refresher still reads positions, summaries and ledgers "
        "every 30 s. Viewers add no REST calls either way: one reader per process feeds them all.",
        "",
        "Daily P&L per position at 15,000 positions (`ibkr.position_marks`, counted by "
        "`tests/unit/test_live_overlay.py` with a fake clock): the 100 largest conids stream by `smd`; the other "
        "14,900 are read in 149 batches of 100, each a preflight snapshot, a second snapshot and one "
        "`unsubscribeall` (the lines back): 447 requests a round at `IBKR_SNAPSHOT_PER_SECOND=1`, so **60 "
        "requests a minute and about 7.5 minutes to fill all 15,000** (with the stream down, 150 batches, 450 "
        "requests); at 2 a second, 120 a minute and 3.7 minutes. IBKR allows 10 snapshot requests a second and "
        "10 requests a second in all through the gateway: the reader uses a tenth (a fifth), and holds at most "
        "100 streamed lines plus one batch of 100.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
