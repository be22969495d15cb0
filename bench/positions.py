"""``all_positions`` against the simulator with IBKR's pacing on: calls, seconds, and the pacing floor.

The floor is the time the calls need at the limiter's global rate (8/s) and at IBKR's gateway limit (10/s);
the ratio measured/floor says how close the client runs to what pacing allows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests

from ibkr import ClientPortalClient, Settings
from ibkr.gateway import SimProcess
from ibkr.pacing import GLOBAL_LIMIT, LIMITER

SIZES = (1000, 10000)
ACCOUNTS = 3


def measure(positions: int, cert_dir: Path) -> dict:
    sim = SimProcess(["--port", "0", "--auto-login", "--accounts", str(ACCOUNTS), "--positions", str(positions),
                      "--tick-seconds", "0", "--penalty-seconds", "5"], cert_dir)
    t0 = time.perf_counter()
    sim.start()
    start_s = time.perf_counter() - t0
    rss_mib = int(Path(f"/proc/{sim.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    admin = requests.Session()
    admin.verify, admin.trust_env = str(sim.cert), False
    try:
        LIMITER.reset()
        client = ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert))
        ids = [a.account_id for a in client.portfolio_accounts()]
        before = admin.get(f"{sim.url}/sim/stats", timeout=30).json()
        t0 = time.perf_counter()
        rows = client.all_positions(ids)
        seconds = time.perf_counter() - t0
        after = admin.get(f"{sim.url}/sim/stats", timeout=30).json()
        truth = admin.get(f"{sim.url}/sim/state", timeout=60).json()
        client.close()
    finally:
        sim.stop()
    calls = sum(after["requests"].values()) - sum(before["requests"].values())
    expected = sum(len(a["positions"]) for a in truth["accounts"])
    return {"positions": positions, "rows": len(rows), "expected": expected, "calls": calls, "seconds": seconds,
            "floor_limiter": calls / GLOBAL_LIMIT, "floor_ibkr": calls / 10, "rate_limited": after["rate_limited"],
            "sim_start_s": start_s, "sim_rss_mib": rss_mib}


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, Path(tmp)) for n in SIZES]
    lines = [
        "## `all_positions` (client) against the simulator, pacing on",
        "",
        f"{ACCOUNTS} accounts; pages of 100 fetched in parallel inside the process-wide limiter "
        f"({GLOBAL_LIMIT} requests/s global, IBKR allows 10/s through the gateway).",
        "",
        "| positions / account | rows returned | expected | calls | seconds | floor at 8/s | floor at 10/s "
        "| measured / 8-per-s floor | 429s | sim start (s) | sim RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['positions']:,} | {r['rows']:,} | {r['expected']:,} | {r['calls']} | {r['seconds']:.1f} "
            f"| {r['floor_limiter']:.1f} | {r['floor_ibkr']:.1f} | {r['seconds'] / r['floor_limiter']:.2f} "
            f"| {r['rate_limited']} | {r['sim_start_s']:.2f} | {r['sim_rss_mib']:.0f} |")
    return "\n".join(lines) + "\n"
