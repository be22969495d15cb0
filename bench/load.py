"""Load: many dashboard sessions in Chromium at the fastest auto-refresh, against the simulator, with what each
session saw, what the gateway was asked and what the Streamlit process held.

``python -m bench.load --sessions 20 --minutes 5`` (``make load``) starts ``python -m ibkr_desk`` in sim mode with
auto-login (3 accounts x 1,000 positions, prices moving every 5 s, pacing on) and ``IBKR_REFRESH_SECONDS`` at
:data:`REFRESH_SECONDS`, opens one warm-up session (the process's first portfolio reads), then runs two phases of
the same length in the same process:

1. *baseline*: one session;
2. *load*: ``--sessions`` sessions, all opened at once.

Every session starts on its own page (session i on page i mod 6, so every page is open from the start), stays
``dwell`` seconds on a page with the auto-refresh redrawing it, then moves to the next page through the sidebar,
round and round. Measured:

- *errors*: Streamlit exception blocks, error alerts, "Traceback" on a page and failure warnings ("Could not
  load", "Showing the last good data"), seen by a watcher in each page that looks twice a second (so a message
  that came and went between two visits counts too); page errors and console errors in the browser; tracebacks
  in the Streamlit process's console; a page that did not draw;
- *429s*: the simulator's ``/sim/stats`` ``rate_limited``;
- *gateway calls per minute* in each phase (``/sim/stats`` requests, per endpoint with account ids folded), and
  their ratio, load over baseline: the portfolio, live orders and trades are read by one background reader per
  process, so twenty viewers should cost the gateway what one costs;
- the Streamlit process's *RSS* (``/proc/<pid>/status``) every :data:`SAMPLE_SECONDS`, and its slope after the
  load phase's first minute (fitted by least squares);
- *session start*: from opening the page to its data drawn (median, max).

It fails (exit 1) when any target is missed: an error, a 429, the calls ratio above :data:`MAX_CALLS_RATIO`, or
memory not flat (the fitted growth after the first minute above :data:`MAX_GROWTH` of the RSS then; judged only
when the load phase lasts at least two minutes). Its section goes into BENCHMARKS.md (``--no-write``: printed
only). tests/e2e/test_load.py runs the same at a small scale.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench import cpu_seconds, cpu_seconds_named, machine, memory_mb, renice_tree
from tests.dashboard_harness import DRAWN, streamlit_app

REFRESH_SECONDS = 0.1
"""The auto-refresh under load: the settings accept any positive ``IBKR_REFRESH_SECONDS`` (``gt=0``), so there is
no lowest one; 0.1 s is below anything a person would set. Every value under 1 s runs the same: a page's freshness
timer looks at most once a second (``ibkr_desk.ui.loaders.MIN_POLL``) and the refresher reads at most every 3x a
read's duration (``ibkr.refresher``)."""
ACCOUNTS, POSITIONS = 3, 1000
SAMPLE_SECONDS = 10.0
WARM_READS = 4  # portfolio reads before the baseline begins
STATS_POLL = 0.5  # seconds between two looks at /sim/stats during a phase (the calls' timeline)
MAX_CALLS_RATIO = 1.1
MAX_GROWTH = 0.05
"""Memory is flat when the fitted growth from the load phase's first minute to its end is at most this share of
the RSS at that minute."""
DRAW_TIMEOUT_MS = 180_000
VIEWPORT = {"width": 1280, "height": 720}
DASHBOARD_NICENESS = -10
"""Viewers' browsers run on their own machines; here twenty share the dashboard's cores (and Chromium sets its own
renderers' priorities, some to -8). The dashboard and its simulator run at this nice value, so the run measures the
dashboard rather than this machine's room for twenty browsers."""

# sidebar link -> (url path, text on the page once it has drawn its data)
PAGES = {
    "Overview": ("", "Largest currency exposures"),
    "Positions": ("positions", " positions · market value "),
    "Margin": ("margin", "Maintenance utilisation"),
    "Currency exposure": ("currency", "What if a currency moves?"),
    "Orders": ("orders", "Preview and submit"),
    "Gateway": ("gateway", "Recent events"),
}
EXPECTED_ERRORS = ("Choose the account the order is for.",)
"""Error alerts that are a page's normal state: the Orders ticket with every account shown asks for one in red."""
EXPECTED_CONSOLE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")
"""A page opened at its own address (``/positions``) makes Streamlit's frontend look for its server under that path
first; those two 404s are how it finds the base path, not errors."""
FAILURE_WARNINGS = ("Could not", "Showing the last good data", "rate-limited", "pacing this machine")
"""Warnings that say a read failed: errors under load. Other warnings (a margin level, the stale badge) are noted."""

WATCHER = """() => {
  const seen = {};
  window.__loadSeen = seen;
  const kinds = {exception: '[data-testid="stException"]', error: '[data-testid="stAlertContentError"]',
                 warning: '[data-testid="stAlertContentWarning"]'};
  const note = (kind, text) => {
    const key = kind + '\\u0000' + (location.pathname.replace(/^\\/+/, '') || 'overview') + '\\u0000' + text;
    seen[key] = (seen[key] || 0) + 1;
  };
  setInterval(() => {
    for (const [kind, selector] of Object.entries(kinds)) {
      for (const el of document.querySelectorAll(selector)) note(kind, el.innerText.trim().slice(0, 400));
    }
    const main = document.querySelector('[data-testid="stMain"]');
    if (main && main.innerText.includes('Traceback')) note('traceback', main.innerText.slice(0, 400));
  }, 500);
}"""
"""Installed in every page before Streamlit loads: what it saw, by kind, page and text (the count is how many of
its looks saw it, so how long it stayed)."""


@dataclass
class Sample:
    at: float  # seconds since the run started
    phase: str
    rss_mb: float
    cpu_seconds: float  # the Streamlit process's user + system time so far
    calls: int  # gateway requests so far (/sim/stats)
    rate_limited: int


@dataclass
class Phase:
    name: str
    sessions: int
    seconds: float = 0.0
    calls: Counter = field(default_factory=Counter)  # per endpoint (account ids folded), over the phase
    rates: dict[str, float] = field(default_factory=dict)  # per endpoint, calls per minute (see rate_per_minute)
    rate_limited: int = 0
    starts: list[float] = field(default_factory=list)  # seconds from opening to drawn, per session
    visits: int = 0
    errors: list[str] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)  # warnings that are not failures, by text
    expected: Counter = field(default_factory=Counter)  # error alerts that are the page's normal state
    screenshots: list[str] = field(default_factory=list)
    cpu_percent: float = 0.0
    browser_cpu_percent: float = 0.0  # every Chromium process of the run (the sessions' browser, on this machine)

    @property
    def per_minute(self) -> float:
        return sum(self.rates.values())


@dataclass
class LoadReport:
    sessions: int
    minutes: float
    refresh: float
    dwell: float
    positions: int = POSITIONS
    baseline: Phase | None = None
    load: Phase | None = None
    samples: list[Sample] = field(default_factory=list)
    sampling_errors: list[str] = field(default_factory=list)
    closing_tracebacks: list[str] = field(default_factory=list)  # after the contexts closed (noted, not judged)
    chromium: str = ""
    load_average: tuple[str, str] = ("", "")

    @property
    def errors(self) -> list[str]:
        return [*(self.baseline.errors if self.baseline else []), *(self.load.errors if self.load else [])]

    @property
    def rate_limited(self) -> int:
        return self.load.rate_limited + self.baseline.rate_limited if self.load and self.baseline else 0

    @property
    def calls_ratio(self) -> float:
        if not (self.load and self.baseline and self.baseline.per_minute):
            return float("inf")
        return self.load.per_minute / self.baseline.per_minute

    def rss(self) -> tuple[float | None, float | None, float | None, bool | None]:
        """RSS at the load phase's first minute, at its end, the fitted slope after that minute (MB/min), and
        whether it is flat (None: the phase is too short to judge)."""
        load = [s for s in self.samples if s.phase == "load"]
        if not load:
            return None, None, None, None
        t0 = load[0].at - SAMPLE_SECONDS  # the phase began at most one sample before its first sample
        after = [s for s in load if s.at - t0 >= 60]
        if len(after) < 3 or (after[-1].at - after[0].at) < 50:
            return (after[0].rss_mb if after else None), load[-1].rss_mb, None, None
        xs = [(s.at - after[0].at) / 60 for s in after]
        ys = [s.rss_mb for s in after]
        slope = statistics.linear_regression(xs, ys).slope
        flat = slope * xs[-1] <= MAX_GROWTH * ys[0]
        return ys[0], ys[-1], slope, flat

    def failures(self) -> list[str]:
        out = []
        if self.errors:
            out.append(f"{len(self.errors)} errors")
        if self.rate_limited:
            out.append(f"{self.rate_limited} x 429")
        if self.calls_ratio > MAX_CALLS_RATIO:
            out.append(f"gateway calls {self.calls_ratio:.2f}x one session's (target <= {MAX_CALLS_RATIO})")
        if self.rss()[3] is False:
            out.append("Streamlit's memory grew after the first minute")
        return out

    def summary(self) -> str:
        b, ld = self.baseline, self.load
        assert b is not None and ld is not None
        first, last, slope, flat = self.rss()
        memory = (f"RSS {first:.0f} MB at 1 min -> {last:.0f} MB at the end, slope {slope:+.2f} MB/min "
                  f"({'flat' if flat else 'NOT flat'})" if slope is not None else
                  f"RSS {last:.0f} MB at the end (phase too short to judge the slope)")
        return (f"{self.sessions} sessions x {_length(self.minutes)} at IBKR_REFRESH_SECONDS={self.refresh:g}, "
                f"{ACCOUNTS} x {self.positions:,} positions: {ld.visits} page visits, {len(self.errors)} errors, "
                f"{self.rate_limited} x 429; gateway calls {ld.per_minute:.1f}/min vs one session's "
                f"{b.per_minute:.1f}/min = {self.calls_ratio:.2f}x; {memory}; session start median "
                f"{statistics.median(ld.starts):.1f} s, max {max(ld.starts):.1f} s" if ld.starts else "no session started")


def _length(minutes: float) -> str:
    return f"{minutes:g} min" if minutes >= 1 else f"{minutes * 60:.0f} s"


def fold(endpoint: str) -> str:
    """``GET /portfolio2/DU123456/positions`` -> ``GET /portfolio2/{acct}/positions`` (and numeric ids)."""
    endpoint = re.sub(r"/(?:DU|DF|U|F)\d+", "/{acct}", endpoint)
    return re.sub(r"/\d+(?=/|$)", "/{id}", endpoint)


def _folded(requests: dict[str, int]) -> Counter:
    counts: Counter = Counter()
    for endpoint, count in requests.items():
        counts[fold(endpoint)] += count
    return counts


BURST_GAP = 2.0
"""Seconds: calls of one endpoint closer than this are one burst (a read asks every account at once); the
background readers' periods are 5 s and more."""


def rate_per_minute(timeline: list[tuple[float, int]], seconds: float) -> float:
    """Calls per minute of one endpoint from its cumulative count polled over a phase (``(time, count)``).

    The background readers call at their own period (a portfolio read every ~7 s, live orders every 8 s...), so
    a window of a few periods holds one burst more or less depending on where its edges fall: at 40 s that moves
    the total by 15 %. Measured from the endpoint's first burst in the phase to its last instead (the calls of
    every burst but the first, over the time between the first and the last), whole periods are counted; an
    endpoint called in one burst only (the 60 s keep-alive in a short phase) counts over the whole phase."""
    bursts: list[tuple[float, int]] = []  # (when it began, the count once it ended)
    last_change = float("-inf")
    for (_, before), (at, count) in itertools.pairwise(timeline):
        if count == before:
            continue
        if at - last_change < BURST_GAP:
            bursts[-1] = (bursts[-1][0], count)
        else:
            bursts.append((at, count))
        last_change = at
    if len(bursts) >= 2:
        return 60 * (bursts[-1][1] - bursts[0][1]) / (bursts[-1][0] - bursts[0][0])
    return 60 * (timeline[-1][1] - timeline[0][1]) / seconds if seconds else 0.0


class Run:
    """One load run against a running dashboard (``streamlit_app``): the sampler, the sessions, the phases."""

    def __init__(self, app: dict, browser, artifacts: Path, report: LoadReport) -> None:
        self.app, self.browser, self.artifacts, self.report = app, browser, artifacts, report
        self.t0 = time.monotonic()
        self.phase = "warm-up"

    # ---- the simulator and the process ------------------------------------------------------------------------
    def stats(self) -> dict:
        r = self.app["truth"].get(f"{self.app['gateway']}/sim/stats", timeout=60)
        r.raise_for_status()
        return r.json()

    def _sample(self) -> Sample:
        rss, cpu = memory_mb(self.app["pid"]), cpu_seconds(self.app["pid"])
        stats = self.stats()
        return Sample(time.monotonic() - self.t0, self.phase, rss, cpu, sum(stats["requests"].values()),
                      stats["rate_limited"])

    async def sampler(self) -> None:
        while True:
            try:
                self.report.samples.append(await asyncio.to_thread(self._sample))
            except Exception as exc:  # a missed sample is said, and the next one is taken
                self.report.sampling_errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(SAMPLE_SECONDS)

    def _log_offset(self) -> int:
        return Path(self.app["log"]).stat().st_size

    def _tracebacks(self, since: int) -> list[str]:
        """Each traceback the Streamlit process printed since ``since`` (bytes into its log): its last line, with
        the project's deepest frame and the deepest frame of all (where to look)."""
        with open(self.app["log"], errors="replace") as log:
            log.seek(since)
            text = log.read()
        out = []
        for block in text.split("Traceback (most recent call last):")[1:]:
            lines = block.splitlines()
            ends = [line for line in lines if line and not line.startswith((" ", "\t"))]
            frames = [m.groups() for m in re.finditer(r'File "([^"]+)", line (\d+), in (\S+)', block)]
            ours = [f for f in frames if "site-packages" not in f[0]]
            picks = frames[-1:] + [f for f in ours[-1:] if f not in frames[-1:]]
            where = " < ".join(f"{Path(f[0]).name}:{f[1]} {f[2]}" for f in picks)
            out.append((ends[0] if ends else "traceback") + (f" (at {where})" if where else ""))
        return out

    # ---- one session --------------------------------------------------------------------------------------------
    async def _open(self, index: int, phase: Phase, errors: list[str]):
        context = await self.browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
        await context.add_init_script(script=f"({WATCHER})()")
        page = await context.new_page()
        page.set_default_timeout(DRAW_TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(f"session {index}: page error: {exc}"))
        def console(msg) -> None:
            where = msg.location.get("url", "")
            if msg.type == "error" and not ("404" in msg.text and EXPECTED_CONSOLE.search(where)):
                errors.append(f"session {index}: console {msg.type}: {msg.text[:300]} ({where})")

        page.on("console", console)
        return context, page

    async def _drawn(self, page, marker: str) -> None:
        await page.get_by_text(marker).first.wait_for(timeout=DRAW_TIMEOUT_MS)
        await page.wait_for_function(DRAWN, timeout=DRAW_TIMEOUT_MS)

    async def session(self, index: int, phase: Phase, deadline: float, contexts: list, where: dict) -> None:
        """Open the session on its own page, then go round every page, ``dwell`` seconds on each."""
        errors = phase.errors
        context, page = await self._open(index, phase, errors)
        contexts.append(context)
        order = list(PAGES)
        order = order[index % len(order):] + order[:index % len(order)]
        path, marker = PAGES[order[0]]
        opened = time.monotonic()
        try:
            await page.goto(f"{self.app['url']}/{path}")
            await self._drawn(page, marker)
        except Exception as exc:  # a session that never drew is an error, and its run ends here
            errors.append(f"session {index}: {order[0]} did not draw ({type(exc).__name__}: {str(exc)[:200]})")
            return
        phase.starts.append(time.monotonic() - opened)
        phase.visits += 1
        where[index] = (order[0], page)
        step = 0
        while True:
            left = deadline - time.monotonic()
            if left <= self.report.dwell / 2:
                break
            await asyncio.sleep(min(self.report.dwell, left))
            if time.monotonic() >= deadline:
                break
            step += 1
            link = order[step % len(order)]
            try:
                await page.get_by_role("link", name=link, exact=True).click()
                await self._drawn(page, PAGES[link][1])
            except Exception as exc:
                errors.append(f"session {index}: {link} did not draw ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            phase.visits += 1
            where[index] = (link, page)

    async def _seen(self, page, phase: Phase) -> None:
        """What the page's watcher saw: failures into the phase's errors, other warnings into its notes."""
        seen = await page.evaluate("() => window.__loadSeen || {}")
        for key in seen:
            kind, where, text = key.split("\u0000", 2)
            text = re.sub(r"^[a-z]+(?:_[a-z]+)*\s+", "", " ".join(text.split()))  # the icon's name, as text
            general = re.sub(r"\d[\d.,:]*", "#", text)  # the same message at another figure or time
            if kind == "warning" and not any(w in text for w in FAILURE_WARNINGS):
                phase.notes[f"{where}: {general[:160]}"] += 1
            elif kind == "error" and any(e in text for e in EXPECTED_ERRORS):
                phase.expected[f"{where}: {general[:160]}"] += 1
            else:
                phase.errors.append(f"{where}: {kind}: {text[:300]}")

    async def _screenshots(self, phase: Phase, where: dict) -> None:
        shot: set[str] = set()
        for _index, (link, page) in sorted(where.items()):
            if link in shot:
                continue
            shot.add(link)
            name = f"load-{phase.name}-{re.sub(r'[^a-z]+', '-', link.lower()).strip('-')}.png"
            await page.mouse.move(2, 2)
            await page.screenshot(path=str(self.artifacts / name))
            phase.screenshots.append(name)

    # ---- a phase ------------------------------------------------------------------------------------------------
    async def _poll_stats(self, timeline: list[tuple[float, dict]]) -> None:
        while True:
            try:
                stats = await asyncio.to_thread(self.stats)
                timeline.append((time.monotonic(), stats["requests"]))
            except Exception as exc:
                self.report.sampling_errors.append(f"/sim/stats: {type(exc).__name__}: {exc}")
            await asyncio.sleep(STATS_POLL)

    async def phase_run(self, name: str, sessions: int, seconds: float, screenshots: bool) -> Phase:
        phase = Phase(name, sessions)
        self.phase = name
        before = await asyncio.to_thread(self.stats)
        cpu0, browser0 = cpu_seconds(self.app["pid"]), cpu_seconds_named("chromium")
        log_from = self._log_offset()
        started = time.monotonic()
        deadline = started + seconds
        timeline: list[tuple[float, dict]] = [(started, before["requests"])]
        poller = asyncio.create_task(self._poll_stats(timeline))
        contexts: list = []
        where: dict = {}
        try:
            await asyncio.gather(*(self.session(i, phase, deadline, contexts, where) for i in range(sessions)))
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            poller.cancel()
            after = await asyncio.to_thread(self.stats)
            phase.seconds = time.monotonic() - started
            timeline.append((time.monotonic(), after["requests"]))
            phase.cpu_percent = 100 * (cpu_seconds(self.app["pid"]) - cpu0) / phase.seconds
            phase.browser_cpu_percent = 100 * (cpu_seconds_named("chromium") - browser0) / phase.seconds
            for _, page in where.values():
                await self._seen(page, phase)
            if screenshots:
                await self._screenshots(phase, where)
            phase.errors += [f"Streamlit console: {t}" for t in self._tracebacks(log_from)]
        finally:
            poller.cancel()
            log_from = self._log_offset()
            for context in contexts:
                await context.close()
        await asyncio.sleep(2)
        self.report.closing_tracebacks += self._tracebacks(log_from)
        folded = [(at, _folded(requests)) for at, requests in timeline]
        for endpoint in set().union(*(counts for _, counts in folded)):
            line = [(at, counts[endpoint]) for at, counts in folded]
            phase.calls[endpoint] = line[-1][1] - line[0][1]
            if phase.calls[endpoint]:
                phase.rates[endpoint] = rate_per_minute(line, phase.seconds)
        phase.rate_limited = after["rate_limited"] - before["rate_limited"]
        return phase

    async def warm_up(self) -> None:
        """One session until the Overview shows data and the portfolio was read :data:`WARM_READS` times: the
        process's first read (IBKR's empty first P&L, every security definition) and the longer pause after it
        (the refresher waits 3x a read's duration), not part of either phase."""
        errors: list[str] = []
        context, page = await self._open(-1, Phase("warm-up", 1), errors)
        try:
            await page.goto(self.app["url"])
            await self._drawn(page, PAGES["Overview"][1])
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                stats = await asyncio.to_thread(self.stats)
                if stats["requests"].get("GET /portfolio/accounts", 0) >= WARM_READS:
                    break
                await asyncio.sleep(STATS_POLL)
        finally:
            await context.close()
        if errors:
            self.report.sampling_errors += [f"warm-up: {e}" for e in errors]

    async def run(self, seconds: float) -> LoadReport:
        renice_tree(self.app["pid"], DASHBOARD_NICENESS)
        await self.warm_up()
        renice_tree(self.app["pid"], DASHBOARD_NICENESS)  # the simulator and the threads started since
        sampler = asyncio.create_task(self.sampler())
        try:
            self.report.baseline = await self.phase_run("baseline", 1, seconds, screenshots=False)
            self.report.load = await self.phase_run("load", self.report.sessions, seconds, screenshots=True)
        finally:
            sampler.cancel()
        return self.report


def run_load(sessions: int, minutes: float, artifacts: Path, *, refresh: float = REFRESH_SECONDS,
             dwell: float | None = None, positions: int = POSITIONS) -> LoadReport:
    """Start the dashboard and Chromium, run the baseline and the load phase, stop both; the report."""
    from playwright.async_api import async_playwright

    from tests.conftest import CHROMIUM_ARGS, chromium_or_skip

    seconds = minutes * 60
    dwell = dwell if dwell is not None else max(5.0, min(30.0, seconds / len(PAGES)))
    report = LoadReport(sessions=sessions, minutes=minutes, refresh=refresh, dwell=dwell, positions=positions)
    artifacts.mkdir(exist_ok=True)

    async def main(app: dict) -> LoadReport:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS,
                                               headless=True)
            report.chromium = browser.version
            try:
                return await Run(app, browser, artifacts, report).run(seconds)
            finally:
                await browser.close()

    with tempfile.TemporaryDirectory() as tmp:
        start_load = os.getloadavg()
        with streamlit_app(Path(tmp), sim_auto_login="true", sim_accounts=str(ACCOUNTS),
                           sim_positions=str(positions), sim_tick_seconds="5",
                           refresh_seconds=f"{refresh:g}") as app, ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(asyncio.run, main(app)).result()  # its own event loop, beside any the caller runs
            finally:
                shutil.copyfile(app["log"], artifacts / "load-streamlit.log")  # the whole console, to read after
        end_load = os.getloadavg()
    report.load_average = (" / ".join(f"{x:.1f}" for x in start_load), " / ".join(f"{x:.1f}" for x in end_load))
    return report


def benchmark_section(report: LoadReport, command: str,
                      title: str = "## Load (`make load`): many dashboard sessions in Chromium") -> str:
    b, ld = report.baseline, report.load
    assert b is not None and ld is not None
    first, last, slope, flat = report.rss()
    endpoints = sorted((e for e in set(b.calls) | set(ld.calls) if b.calls[e] or ld.calls[e]),
                       key=lambda e: -(ld.calls[e] + b.calls[e]))
    load_rss = [s for s in report.samples if s.phase == "load"]
    lines = [
        title,
        "",
        f"Written by `{command}` on {dt.date.today()}: {machine()}, Chromium {report.chromium}; load average "
        f"(1/5/15 min) {report.load_average[0]} before, {report.load_average[1]} after. Sim mode, auto-login, "
        f"{ACCOUNTS} accounts x {report.positions:,} positions, prices moving every 5 s, pacing on, "
        f"`IBKR_REFRESH_SECONDS={report.refresh:g}` (the settings accept any positive value; under 1 s every value "
        "runs the same: a page's freshness timer looks once a second, the refresher reads at most every 3x a "
        "read's duration). One dashboard process: a warm-up session "
        f"(its first reads), then a *baseline* of 1 session for {_length(report.minutes)}, then the *load* of "
        f"{report.sessions} sessions opened at once for {_length(report.minutes)}. Each session starts on its own page "
        f"(i mod 6, so every page is open throughout) and moves to the next one every {report.dwell:g} s. The "
        f"sessions' Chromium runs on this machine too; the dashboard and its simulator run at nice "
        f"{DASHBOARD_NICENESS} (viewers' browsers run on their own machines; here they take the CPU the dashboard "
        "leaves).",
        "",
        "| | baseline: 1 session | load: " + f"{report.sessions} sessions | target |",
        "|---|---|---|---|",
        f"| page visits | {b.visits} | {ld.visits} | |",
        f"| errors (exceptions, error alerts, failure warnings, tracebacks, console errors) | {len(b.errors)} | "
        f"{len(ld.errors)} | 0 |",
        f"| 429s (`/sim/stats` rate_limited) | {b.rate_limited} | {ld.rate_limited} | 0 |",
        f"| gateway calls per minute (calls in the phase) | {b.per_minute:.1f} ({sum(b.calls.values()):,} in "
        f"{b.seconds:.0f} s) | {ld.per_minute:.1f} ({sum(ld.calls.values()):,} in {ld.seconds:.0f} s): "
        f"**{report.calls_ratio:.2f}x** | <= {MAX_CALLS_RATIO}x |",
        f"| Streamlit CPU (% of one core) | {b.cpu_percent:.0f} | {ld.cpu_percent:.0f} | |",
        f"| Chromium CPU, every process of the sessions' browser on this machine (% of one core; "
        f"{os.cpu_count()} cores in all) | {b.browser_cpu_percent:.0f} | {ld.browser_cpu_percent:.0f} | |",
        f"| session start (open to data drawn) | {b.starts[0]:.1f} s | median {statistics.median(ld.starts):.1f} s, "
        f"max {max(ld.starts):.1f} s | |" if b.starts and ld.starts else "| session start | - | - | |",
    ]
    if slope is not None:
        lines.append(f"| Streamlit RSS after the first minute | | {first:.0f} -> {last:.0f} MB, slope "
                     f"{slope:+.2f} MB/min ({'flat' if flat else 'not flat'}) | growth <= {MAX_GROWTH:.0%} |")
    lines += [
        "",
        "Streamlit RSS every " + f"{SAMPLE_SECONDS:g} s in the load phase (MB): "
        + ", ".join(f"{s.rss_mb:.0f}" for s in load_rss) + ".",
        "",
        "Gateway calls per minute by endpoint (account ids and numeric ids folded; each from its first to its last "
        "call in the phase, so a phase's edges do not count part of a reader's period):",
        "",
        "| endpoint | baseline | load | ratio |",
        "|---|---|---|---|",
    ]
    for e in endpoints:
        base, now = b.rates.get(e, 0.0), ld.rates.get(e, 0.0)
        lines.append(f"| `{e}` | {base:.1f} | {now:.1f} | {now / base:.2f}x |" if base else
                     f"| `{e}` | 0 | {now:.1f} | new |")
    verdict = report.failures()
    lines += ["", f"Result: {'every target met' if not verdict else 'missed: ' + '; '.join(verdict)}."]
    errors = report.errors
    if errors:
        shown = Counter(errors).most_common(10)
        lines += ["", "Errors seen:", ""] + [f"- {e} ({n}x)" if n > 1 else f"- {e}" for e, n in shown]
    expected = ld.expected + b.expected
    if expected:
        lines += ["", "Expected error alerts (the page's normal state, not counted): "
                  + "; ".join(f"{t} ({n} looks)" for t, n in expected.most_common(4)) + "."]
    notes = ld.notes + b.notes
    if notes:
        lines += ["", "Other warnings on pages (not failures): "
                  + "; ".join(f"{t} ({n} looks)" for t, n in notes.most_common(6)) + "."]
    if report.sampling_errors:
        lines += ["", "Samples missed: " + "; ".join(sorted(set(report.sampling_errors))[:5]) + "."]
    if report.closing_tracebacks:
        lines += ["", "Tracebacks in Streamlit's console as the sessions closed (not judged): "
                  + "; ".join(sorted(set(report.closing_tracebacks))) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each phase (baseline, load)")
    parser.add_argument("--refresh", type=float, default=REFRESH_SECONDS, help="IBKR_REFRESH_SECONDS")
    parser.add_argument("--dwell", type=float, default=None, help="seconds on a page before the next one")
    parser.add_argument("--positions", type=int, default=POSITIONS, help="positions per account")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    from tests.conftest import ARTIFACTS
    from tests.e2e.trading_day import write_benchmark

    report = run_load(args.sessions, args.minutes, ARTIFACTS, refresh=args.refresh, dwell=args.dwell,
                      positions=args.positions)
    command = f"python -m bench.load --sessions {args.sessions} --minutes {args.minutes:g}"
    section = benchmark_section(report, command)
    print(section)
    if not args.no_write:
        write_benchmark(section)
    failed = report.failures()
    if failed:
        print("load: missed: " + "; ".join(failed))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
