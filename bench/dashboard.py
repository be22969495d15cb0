"""How long each dashboard page takes to render, under AppTest, at 100 and 5,000 positions per account.

For each size the dashboard runs in this process (``tests/dashboard_harness.py``) with its own GatewayManager
starting the simulator (pacing on, 3 accounts, frozen prices):

- *start*: from the first run (gateway not started) to the Overview drawn with data: the simulator starting, the
  login, the first portfolio load (IBKR's first ``pnl/partitioned`` answers empty, and the second may only come 5 s
  later) and the page.
- *cached*: a page's run once the snapshot and its analytics are cached (median of ``REPEATS`` runs), which is
  what every rerun (a widget, the auto-refresh within the ttl, another viewer) costs.
- *new data*: the page's first run after the background refresher delivered a new snapshot: the analytics for it
  and the page (no page run ever reads the gateway; the read itself is the *read* column, on the refresher's
  thread, at least 5.5 s after the previous one, so IBKR's 1-per-5-s pacing of ``/portfolio/accounts`` and
  ``pnl/partitioned`` adds no wait).

AppTest times the script run on the server (what a viewer waits for before the browser draws), not the browser.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import streamlit as st

from bench import measured
from tests.dashboard_harness import PAGES, DashboardHarness

SIZES = (100, 5000)
REPEATS = 5
PACING_GAP = 5.5  # seconds between two portfolio loads (IBKR: /portfolio/accounts and pnl once per 5 s)


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _check(at, page: str) -> None:
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].value}")
    if page != "gateway" and not (at.metric or at.dataframe):
        raise RuntimeError(f"{page} drew no data: {[e.value for e in at.error]}")


def measure(positions: int, tmp: Path) -> dict:
    from ibkr_desk.ui import loaders, services

    out: dict = {"positions": positions, "cached": {}, "cold": {}, "read": {}}
    with DashboardHarness(tmp, positions=positions) as dash:
        out["start"], at = _timed(dash.boot)
        _check(at, "overview")
        last_load = time.monotonic()
        out["rows"] = sum(len(a["positions"]) for a in dash.sim_state()["accounts"])
        for page in PAGES:
            dash.page(at, page)  # first visit: the analytics frames for this selection are cached by now
            runs = []
            for _ in range(REPEATS):
                seconds, _ = _timed(at.run)
                runs.append(seconds)
            _check(at, page)
            out["cached"][page] = statistics.median(runs)
        for page in PAGES:
            time.sleep(max(0.0, PACING_GAP - (time.monotonic() - last_load)))
            refresher = services.refresher()
            seen = refresher.status().generation
            loaders.refresh()
            if not refresher.wait(seen, timeout=300):
                raise RuntimeError("the refresher delivered no new snapshot")
            out["read"][page] = refresher.status().last_duration
            st.cache_data.clear()
            out["cold"][page], _ = _timed(lambda p=page: dash.page(at, p))
            last_load = time.monotonic()
            _check(at, page)
    if not dash.stopped_cleanly():
        raise RuntimeError("the simulator outlived the benchmark")
    return out


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, Path(tmp) / str(n)) for n in SIZES]
    head = " | ".join(f"{r['positions']:,}/acct cached | new data | read" for r in results)
    lines = [
        "## Dashboard pages: render time under AppTest",
        "",
        measured("python -m bench dashboard"),
        "",
        "Seconds per page run (`streamlit.testing.v1.AppTest`, in-process; the app's GatewayManager starts the "
        "simulator with pacing on, 3 accounts). *cached*: the snapshot and analytics cached, median of "
        f"{REPEATS} reruns. *new data*: the first run after the background refresher delivered a new snapshot "
        "(analytics computed again). *read*: that portfolio read, on the refresher's thread, which no page waits "
        f"for ({PACING_GAP} s after the previous one). Server-side script time, not browser drawing.",
        "",
        f"| page | {head} |",
        "|---|" + "---|" * (3 * len(results)),
    ]
    for page in PAGES:
        cells = " | ".join(f"{r['cached'][page]:.3f} | {r['cold'][page]:.2f} | {r['read'][page]:.1f}" for r in results)
        lines.append(f"| {page} | {cells} |")
    starts = "; ".join(f"{r['positions']:,}/acct ({r['rows']:,} positions): {r['start']:.1f} s" for r in results)
    lines += ["", f"From start (simulator, login, first load, Overview drawn): {starts}. The first load includes "
              "IBKR's empty first `pnl/partitioned` answer and its 5 s pacing before the second ask. Only a new "
              "process's first page waits for a read; every other run shows the last snapshot at once."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
