"""``python -m ibkr.sim``: serve the simulated Client Portal Gateway over HTTPS.

Prints exactly one line ``ready https://HOST:PORT`` on stdout once it listens. Defaults come from the
``IBKR_SIM_*`` settings (see ibkr.config.Settings).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import uvicorn

from ibkr.config import Settings
from ibkr.sim.app import SimConfig, create_app
from ibkr.sim.certs import ensure_certificate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    st = Settings()
    p = argparse.ArgumentParser(prog="python -m ibkr.sim", description="Simulated IBKR Client Portal Gateway")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=st.gateway_port, help="0 picks a free port")
    p.add_argument("--cert-dir", type=Path, default=st.sim_cert_dir, help="where cert.pem/key.pem live")
    p.add_argument("--seed", type=int, default=st.sim_seed)
    p.add_argument("--accounts", type=int, default=st.sim_accounts)
    p.add_argument("--positions", type=int, default=st.sim_positions, help="positions per account")
    p.add_argument("--auto-login", action=argparse.BooleanOptionalAction, default=st.sim_auto_login,
                   help="start with an authenticated session (no browser login); --no-auto-login overrides "
                        "IBKR_SIM_AUTO_LOGIN")
    p.add_argument("--idle-timeout", type=float, default=st.sim_idle_timeout, help="session idle timeout, s")
    p.add_argument("--user", default=st.sim_user)
    p.add_argument("--password", default=st.sim_password.get_secret_value())
    p.add_argument("--tick-seconds", type=float, default=st.sim_tick_seconds,
                   help="seconds between price moves; 0 freezes prices (move them with POST /sim/clock)")
    p.add_argument("--penalty-seconds", type=float, default=st.sim_penalty_seconds,
                   help="how long a client that broke the pacing limits gets 429")
    p.add_argument("--no-pacing", action="store_true", help="do not enforce IBKR's pacing limits")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    cert, key = ensure_certificate(args.cert_dir)
    config = SimConfig(seed=args.seed, accounts=args.accounts, positions=args.positions,
                       auto_login=args.auto_login, idle_timeout=args.idle_timeout, user=args.user,
                       password=args.password, tick_seconds=args.tick_seconds,
                       penalty_seconds=args.penalty_seconds, pacing=not args.no_pacing)
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(
        app, host=args.host, port=args.port, ssl_certfile=str(cert), ssl_keyfile=str(key),
        log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises the startup error
            raise SystemExit(f"the simulator could not listen on {args.host}:{args.port}")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    sys.stdout.write(f"ready https://{host}:{port}\n")
    sys.stdout.flush()
    await task


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
