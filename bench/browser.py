"""The dashboard in Chromium: how long the Positions page takes to show its data, beside a bare Streamlit page, and
what the Streamlit process holds in memory, at first and over many refreshes.

``python -m bench.browser`` (``make bench``: its ``browser`` and ``memory`` parts) runs, side by side in one run:

1. *page time*: for each size (3 accounts x 100 and 3 x 5,000 positions) ``python -m ibkr_desk`` in sim mode with
   auto-login (pacing on); once its first snapshot is loaded, :data:`REPEATS` fresh browser contexts each navigate
   to ``/positions`` and are timed until the positions caption (``N positions · market value ...``) is shown.
   Beside it, the same timing of a bare Streamlit page (one ``st.caption``) served the same way. Reported: medians
   and the ratio to the bare page; the Streamlit process's peak RSS (``VmHWM``) after the run.
2. *memory over refreshes*: at 3 x 5,000 positions, prices moving every 5 s and the Positions page open (each new
   snapshot's analytics computed and drawn), the Streamlit process's RSS every :data:`SAMPLE_EVERY` portfolio
   refreshes (counted from the simulator's ``/portfolio2`` calls, one per account per refresh) until
   ``--refreshes`` (default 200), and the least-squares slope over the second half.

Targets (issue Speed): the positions page at 15,000 positions at most 3x the bare page; memory flat.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench import measured, memory_mb
from tests.dashboard_harness import free_port, streamlit_app, streamlit_process

ACCOUNTS = 3
SIZES = (100, 5000)
REPEATS = 5
SAMPLE_EVERY = 10
CAPTION = " positions · market value "
BARE = 'import streamlit as st\nst.caption("bare page ready")\n'


@contextmanager
def _browser():
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS, chromium_or_skip

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _time_to(browser, url: str, text: str, timeout: float = 180_000) -> float:
    """Seconds from navigation (a fresh context: no cache, no session) to ``text`` shown."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.get_by_text(text).first.wait_for(timeout=timeout)
        return time.perf_counter() - t0
    finally:
        context.close()


@contextmanager
def _bare_app(tmp: Path):
    script = tmp / "bare.py"
    script.write_text(BARE)
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.headless",
            "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with streamlit_process(argv, port, tmp / "bare.log"):
        yield f"http://127.0.0.1:{port}"


def _portfolio2_calls(app: dict) -> int:
    stats = app["truth"].get(f"{app['gateway']}/sim/stats", timeout=30).json()["requests"]
    return sum(n for k, n in stats.items() if k.startswith("GET /portfolio2/"))


def page_times(tmp: Path) -> dict:
    out: dict = {"sizes": []}
    with _browser() as browser:
        with _bare_app(tmp) as bare:
            _time_to(browser, bare, "bare page ready")  # the first start of a Streamlit page
            out["bare"] = statistics.median(_time_to(browser, bare, "bare page ready") for _ in range(REPEATS))
        for size in SIZES:
            (tmp / f"dash-{size}").mkdir()
            with streamlit_app(tmp / f"dash-{size}", sim_auto_login="true", sim_accounts=str(ACCOUNTS),
                               sim_positions=str(size)) as app:
                first = _time_to(browser, f"{app['url']}/positions", CAPTION)  # the process's first load included
                times = [_time_to(browser, f"{app['url']}/positions", CAPTION) for _ in range(REPEATS)]
                out["sizes"].append({"positions": size * ACCOUNTS, "first": first, "median": statistics.median(times),
                                     "peak_mb": memory_mb(app["pid"], "VmHWM")})
                stats = app["truth"].get(f"{app['gateway']}/sim/stats", timeout=30).json()
                out["sizes"][-1]["rate_limited"] = stats["rate_limited"]
    return out


def memory_over_refreshes(tmp: Path, refreshes: int) -> dict:
    samples: list[tuple[int, float]] = []
    (tmp / "memory").mkdir()
    with _browser() as browser, streamlit_app(tmp / "memory", sim_auto_login="true", sim_accounts=str(ACCOUNTS),
                                              sim_positions="5000", sim_tick_seconds="5",
                                              refresh_seconds="1") as app:
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.goto(f"{app['url']}/positions")
        page.get_by_text(CAPTION).first.wait_for(timeout=180_000)
        started = time.monotonic()
        base = _portfolio2_calls(app)
        done = 0
        while done < refreshes:
            time.sleep(2)
            done = (_portfolio2_calls(app) - base) // ACCOUNTS
            if not samples or done >= samples[-1][0] + SAMPLE_EVERY:
                samples.append((done, memory_mb(app["pid"])))
        page.get_by_text(CAPTION).first.wait_for(timeout=60_000)  # the page still shows its data
        minutes = (time.monotonic() - started) / 60
        rate_limited = app["truth"].get(f"{app['gateway']}/sim/stats", timeout=30).json()["rate_limited"]
        context.close()
    half = [s for s in samples if s[0] >= refreshes / 2]
    slope = statistics.linear_regression([x for x, _ in half], [y for _, y in half]).slope if len(half) >= 3 else None
    return {"refreshes": refreshes, "minutes": minutes, "samples": samples, "slope_per_100": None if slope is None
            else slope * 100, "rate_limited": rate_limited}


def run_pages() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        pages = page_times(Path(tmp))
    bare = pages["bare"]
    lines = [
        "## The dashboard in Chromium: Positions page time",
        "",
        measured("python -m bench browser"),
        "",
        f"`python -m ibkr_desk` in sim mode with auto-login, {ACCOUNTS} accounts, pacing on. *Page time*: from "
        "navigation in a fresh browser context to the positions caption shown (the data drawn), median of "
        f"{REPEATS}, after the process's first load; *first*: the first such navigation, which waits for the "
        "process's first portfolio read. Beside it, the same navigation to a bare Streamlit page (one "
        "`st.caption`) in the same run. Peak memory: the Streamlit process's `VmHWM` after the timings.",
        "",
        "| positions | first (s) | page time (s) | bare page (s) | page / bare | Streamlit peak RSS (MB) | 429s |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in pages["sizes"]:
        lines.append(f"| {s['positions']:,} | {s['first']:.2f} | {s['median']:.2f} | {bare:.2f} "
                     f"| {s['median'] / bare:.2f}x | {s['peak_mb']:.0f} | {s['rate_limited']} |")
    big = pages["sizes"][-1]
    ratio = big["median"] / bare
    lines += ["", f"Target (issue Speed): the positions page at {big['positions']:,} positions at most 3x the bare "
                  f"page: {ratio:.2f}x: {'met' if ratio <= 3 else 'not met'}."]
    return "\n".join(lines) + "\n"


def run_memory(refreshes: int = 200) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        memory = memory_over_refreshes(Path(tmp), refreshes)
    slope = memory["slope_per_100"]
    rss = ", ".join(f"{mb:.0f}" for _, mb in memory["samples"])
    first_mb, last_mb = memory["samples"][0][1], memory["samples"][-1][1]
    flat = slope is not None and slope <= 0.02 * last_mb  # growth is the question; a falling RSS is flat enough
    lines = [
        "## Memory over portfolio refreshes: the Streamlit process at 15,000 positions",
        "",
        measured("python -m bench memory"),
        "",
        f"`python -m ibkr_desk`, {ACCOUNTS} x 5,000 positions, prices moving every 5 s, the Positions page open in "
        "Chromium (each new snapshot's analytics computed and drawn), `IBKR_REFRESH_SECONDS=1` (each refresh as soon "
        f"as the refresher's schedule and IBKR's pacing allow): {memory['refreshes']} refreshes in "
        f"{memory['minutes']:.0f} min. Streamlit RSS every {SAMPLE_EVERY} refreshes (MB): {rss}.",
        "",
        f"From {first_mb:.0f} to {last_mb:.0f} MB; over the second half "
        + (f"{slope:+.1f} MB per 100 refreshes: {'no growth' if flat else 'growing'} (no growth: at most +2 % of "
           "the RSS per 100 refreshes)" if slope is not None else "too few samples to fit")
        + f"; {memory['rate_limited']} x 429.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=200)
    args = parser.parse_args()
    print(run_pages())
    print(run_memory(args.refreshes))


if __name__ == "__main__":
    main()
