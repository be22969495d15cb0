"""Analytics against the cost of reading the same data: every figure the dashboard draws from one portfolio
snapshot (``ibkr.analytics.snapshot_frames``: positions frame, account totals, margin table, FX exposure total and
by asset class) at 1,000, 10,000 and 100,000 positions, as a ratio to ``json.loads`` of the answers that snapshot
was read from.

For each size a simulator (``--no-pacing``, frozen prices, 3 accounts) serves the positions; the client reads one
snapshot the way the dashboard's refresher does (``ibkr.portfolio.load_portfolio``) while a response hook keeps
every answer's bytes. Then, side by side in this process, median of :data:`REPEATS`:

- ``json.loads`` of every answer of that read (``/portfolio2`` positions, ``/trsrv/secdef``, summaries, ledgers,
  P&L): the least any client must spend on that data;
- the analytics: ``snapshot_frames`` on the snapshot, what a page computes once per new snapshot.

Target (issue Speed): analytics at 100,000 positions at most 1x ``json.loads``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import measured, median_seconds
from ibkr import ClientPortalClient, Settings
from ibkr.analytics import snapshot_frames
from ibkr.gateway import SimProcess
from ibkr.pacing import PacingLimiter
from ibkr.portfolio import load_portfolio

SIZES = (1_000, 10_000, 100_000)
ACCOUNTS = 3
REPEATS = 5


def measure(total: int, cert_dir: Path) -> dict:
    per_account = -(-total // ACCOUNTS)
    sim = SimProcess(["--port", "0", "--auto-login", "--no-pacing", "--accounts", str(ACCOUNTS), "--positions",
                      str(per_account), "--tick-seconds", "0"], cert_dir)
    sim.start(timeout=300)
    bodies: list[bytes] = []
    try:
        client = ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert, request_timeout=300),
                                    limiter=PacingLimiter(global_limit=1000))
        client.transport.session.hooks["response"].append(lambda r, *a, **k: bodies.append(r.content))
        try:
            load_portfolio(client)  # the first read learns the security definitions; the next is a refresh's
            bodies.clear()
            snap = load_portfolio(client)
        finally:
            client.close()
    finally:
        sim.stop()
    payload = [b for b in bodies if b[:1] in (b"{", b"[")]
    rows = len(snap.positions)
    loads = median_seconds(lambda: [json.loads(b) for b in payload], REPEATS)
    frames = snapshot_frames(snap)
    analytics = median_seconds(lambda: snapshot_frames(snap), REPEATS)
    return {"positions": rows, "answers": len(payload), "mib": sum(map(len, payload)) / 2**20, "loads": loads,
            "analytics": analytics, "shown": len(frames["positions"])}


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, Path(tmp)) for n in SIZES]
    lines = [
        "## Analytics against `json.loads` of the same answers",
        "",
        measured("python -m bench analytics"),
        "",
        f"{ACCOUNTS} accounts; one snapshot read the dashboard's way (`load_portfolio`: `/portfolio2` per account, "
        "`/trsrv/secdef` for conids not yet known, summaries, ledgers, P&L) from the simulator without pacing, then "
        f"side by side in one process, median of {REPEATS}: `json.loads` of every answer of that read, and "
        "`ibkr.analytics.snapshot_frames` (positions frame, totals, margin table, FX exposure total and by asset "
        "class: everything a page computes once per new snapshot).",
        "",
        "| positions | answers | MiB | `json.loads` (s) | analytics (s) | analytics / `json.loads` | rows in the frame |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['positions']:,} | {r['answers']} | {r['mib']:.1f} | {r['loads']:.3f} "
                     f"| {r['analytics']:.3f} | {r['analytics'] / r['loads']:.2f}x | {r['shown']:,} |")
    big = results[-1]
    ratio = big["analytics"] / big["loads"]
    lines += ["", f"Target (issue Speed): analytics at {big['positions']:,} positions at most 1x `json.loads`: "
                  f"{ratio:.2f}x: {'met' if ratio <= 1 else 'not met'}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
