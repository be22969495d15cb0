"""Reading every position against the simulator with IBKR's pacing on: calls, seconds, and the pacing floor,
for both strategies side by side in one run: the paged ``all_positions`` (100 a call) and ``current_positions``
(``/portfolio2``, one call per account, plus ``/trsrv/secdef`` for conids not seen before: the first refresh of
a process, then the steady state).

The floor is the time the calls need at the limiter's global rate (8/s) and at IBKR's gateway limit (10/s);
the ratio measured/floor says how close the client runs to what pacing allows.

Then, with the simulator's ``--no-pacing`` (no wait anywhere, so what is left is each client's own cost), the same
data read by ibind (a public client; a dev dependency only) beside ours, each the same calls: ``/portfolio2`` per
account, plus ``/trsrv/secdef`` 200 conids a call on the first refresh. ibind hands back the JSON; ours hands back
validated models with the definitions merged in (what the dashboard needs), so the ratio is what that costs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests

from bench import measured, median_seconds
from ibkr import ClientPortalClient, Settings
from ibkr.gateway import SimProcess
from ibkr.pacing import GLOBAL_LIMIT, LIMITER, PacingLimiter

SIZES = (100, 1000, 5000)
ACCOUNTS = 3


def measure(positions: int, cert_dir: Path) -> list[dict]:
    sim = SimProcess(["--port", "0", "--auto-login", "--accounts", str(ACCOUNTS), "--positions", str(positions),
                      "--tick-seconds", "0", "--penalty-seconds", "5"], cert_dir)
    t0 = time.perf_counter()
    sim.start()
    start_s = time.perf_counter() - t0
    rss_mib = int(Path(f"/proc/{sim.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    admin = requests.Session()
    admin.verify, admin.trust_env = str(sim.cert), False
    out: list[dict] = []
    try:
        LIMITER.reset()
        client = ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert))
        ids = [a.account_id for a in client.portfolio_accounts()]
        truth = admin.get(f"{sim.url}/sim/state", timeout=60).json()
        expected = sum(len(a["positions"]) for a in truth["accounts"])
        for name, read in (("paged (`all_positions`)", client.all_positions),
                           ("portfolio2 + secdef, first refresh", client.current_positions),
                           ("portfolio2 + secdef, steady state", client.current_positions)):
            before = admin.get(f"{sim.url}/sim/stats", timeout=30).json()
            t0 = time.perf_counter()
            rows = read(ids)
            seconds = time.perf_counter() - t0
            after = admin.get(f"{sim.url}/sim/stats", timeout=30).json()
            calls = sum(after["requests"].values()) - sum(before["requests"].values())
            out.append({"positions": positions, "strategy": name, "rows": len(rows), "expected": expected,
                        "calls": calls, "seconds": seconds, "floor_limiter": calls / GLOBAL_LIMIT,
                        "floor_ibkr": calls / 10, "rate_limited": after["rate_limited"] - before["rate_limited"],
                        "sim_start_s": start_s, "sim_rss_mib": rss_mib})
        client.close()
    finally:
        sim.stop()
    return out


IBIND_POSITIONS = 5000
REPEATS = 5


def versus_ibind(positions: int, cert_dir: Path) -> dict | None:
    """Seconds for the same positions read by ibind and by ours, first refresh and steady state, pacing off."""
    try:
        from ibind import IbkrClient
    except ImportError:
        return None
    sim = SimProcess(["--port", "0", "--auto-login", "--no-pacing", "--accounts", str(ACCOUNTS), "--positions",
                      str(positions), "--tick-seconds", "0"], cert_dir)
    sim.start()
    try:
        theirs = IbkrClient(url=f"{sim.url}/v1/api/", cacert=str(sim.cert), use_session=True,
                            auto_register_shutdown=False)
        ids = [a["accountId"] for a in theirs.portfolio_accounts().data]

        def ibind_read(definitions: bool) -> int:
            rows = [r for a in ids for r in theirs.positions2(a).data]
            if definitions:
                conids = sorted({str(r["conid"]) for r in rows})
                for i in range(0, len(conids), 200):
                    theirs.security_definition_by_conid(conids[i:i + 200])
            return len(rows)

        def ours() -> ClientPortalClient:
            client = ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert),
                                        limiter=PacingLimiter(global_limit=1000))
            client.portfolio_accounts()
            return client

        steady = ours()
        steady.current_positions(ids)  # learns the definitions once
        first_clients = [ours() for _ in range(REPEATS)]
        firsts = iter(first_clients)
        result = {
            "positions": positions, "rows": ibind_read(False),
            "ibind_first": median_seconds(lambda: ibind_read(True), REPEATS),
            "ours_first": median_seconds(lambda: next(firsts).current_positions(ids), REPEATS),
            "ibind_steady": median_seconds(lambda: ibind_read(False), REPEATS),
            "ours_steady": median_seconds(lambda: steady.current_positions(ids), REPEATS),
        }
        for client in [steady, *first_clients]:
            client.close()
        theirs.close()
        return result
    finally:
        sim.stop()


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        results = [r for n in SIZES for r in measure(n, Path(tmp))]
        ibind = versus_ibind(IBIND_POSITIONS, Path(tmp))
    lines = [
        "## Reading every position (client) against the simulator, pacing on",
        "",
        measured("python -m bench positions"),
        "",
        f"{ACCOUNTS} accounts, measured side by side in one run per size. Paged: pages of 100 in parallel inside "
        f"the process-wide limiter ({GLOBAL_LIMIT} requests/s global, IBKR allows 10/s through the gateway). "
        "portfolio2: one uncached call per account, plus /trsrv/secdef 200 conids a call for conids not seen "
        "before (the first refresh of a process); the dashboard's refresher uses it.",
        "",
        "| positions / account | strategy | rows returned | expected | calls | seconds | floor at 8/s "
        "| floor at 10/s | measured / 8-per-s floor | 429s | sim start (s) | sim RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['positions']:,} | {r['strategy']} | {r['rows']:,} | {r['expected']:,} | {r['calls']} "
            f"| {r['seconds']:.2f} | {r['floor_limiter']:.2f} | {r['floor_ibkr']:.2f} "
            f"| {r['seconds'] / r['floor_limiter']:.2f} | {r['rate_limited']} | {r['sim_start_s']:.2f} "
            f"| {r['sim_rss_mib']:.0f} |")
    steady = [r for r in results if r["strategy"].endswith("steady state") and r["positions"] == 5000]
    if steady:
        r = steady[0]
        ratio = r["seconds"] / r["floor_limiter"]
        lines += ["", f"Target (issue Speed): steady-state refresh at 3 x 5,000 within 1.5x of the pacing floor and "
                      f"under 20 calls: {r['calls']} calls, {ratio:.2f}x the floor: "
                      f"{'met' if r['calls'] < 20 and ratio <= 1.5 else 'not met'}."]
    if ibind is None:
        lines += ["", "ibind is not installed (`make bench` installs the dev requirements): no comparison."]
    else:
        first, steady = ibind["ours_first"] / ibind["ibind_first"], ibind["ours_steady"] / ibind["ibind_steady"]
        lines += [
            "", f"### The same read by ibind, simulator without pacing ({ACCOUNTS} x {ibind['positions']:,}, "
                f"{ibind['rows']:,} rows, median of {REPEATS})", "",
            "| read | ibind (s) | ours (s) | ours / ibind |", "|---|---|---|---|",
            f"| first refresh (`/portfolio2` + `/trsrv/secdef`) | {ibind['ibind_first']:.3f} | "
            f"{ibind['ours_first']:.3f} | {first:.2f}x |",
            f"| steady state (`/portfolio2`) | {ibind['ibind_steady']:.3f} | {ibind['ours_steady']:.3f} "
            f"| {steady:.2f}x |", "",
            f"Target (issue Speed): client overhead at most 0.5x ibind's for the same data: steady state {steady:.2f}x: "
            f"{'met' if steady <= 0.5 else 'not met'}.",
        ]
    return "\n".join(lines) + "\n"
