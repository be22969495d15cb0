"""``python -m ibkr_sim``: serve the simulated Client Portal Gateway over HTTPS.

Prints exactly one line ``ready https://HOST:PORT`` on stdout once it listens. The options are built from
:class:`ibkr.config.SimSettings`, one per field (``--positions 5000``, ``--no-pacing``, ``--today 2026-12-01``);
their defaults are the ``IBKR_SIM_*`` settings. Only ``--host`` and ``--port`` are the command's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import typing
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from ibkr.config import SimSettings, is_loopback_host
from ibkr_sim.app import create_app
from ibkr_sim.infra.certs import ensure_certificate


def _option_type(annotation: object) -> type:
    """The argparse type of a settings field (``Path | None`` -> Path; pydantic validates the value)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation  # type: ignore[return-value]


def parser(defaults: SimSettings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ibkr_sim", description="Simulated IBKR Client Portal Gateway")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    p.add_argument("--parent-pid", type=int, default=None,
                   help="end when this process is gone (the launcher passes its own pid, so a launcher killed "
                        "with -9 leaves no simulator behind)")
    for name, info in SimSettings.model_fields.items():
        flag, value = "--" + name.replace("_", "-"), getattr(defaults, name)
        help_text = f"{info.description} (IBKR_SIM_{name.upper()})"
        if info.annotation is bool:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=value, help=help_text)
        elif info.annotation is SecretStr:
            p.add_argument(flag, dest=name, default=None, help=help_text + "; better set in the environment")
        else:
            kind = _option_type(info.annotation)
            p.add_argument(flag, dest=name, type=str if kind not in (int, float, Path) else kind,
                           default=None if value is None else value, help=help_text)
    return p


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimSettings]:
    """The command's own options and the settings (environment, then the command line)."""
    defaults = SimSettings()
    p = parser(defaults)
    args = p.parse_args(argv)
    if not is_loopback_host(args.host):  # its /sim/ admin API has no sign-in and its login page shows the password
        p.error(f"--host {args.host} is not loopback: the simulator serves this machine only (127.0.0.1, ::1, "
                "localhost)")
    given = {name: getattr(args, name) for name in SimSettings.model_fields if getattr(args, name) is not None}
    return args, SimSettings(**{**defaults.model_dump(), **given})


async def serve(args: argparse.Namespace, settings: SimSettings) -> None:
    cert, key = ensure_certificate(settings.cert_folder)
    app = create_app(settings)
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
    if args.parent_pid:
        watch = asyncio.create_task(_end_with(args.parent_pid, server))
    await task
    if args.parent_pid:
        watch.cancel()


async def _end_with(pid: int, server: uvicorn.Server, every: float = 0.5) -> None:
    """Stop ``server`` once process ``pid`` no longer exists (or this process was handed to another parent)."""
    parent = os.getppid()
    while True:
        await asyncio.sleep(every)
        try:
            os.kill(pid, 0)
            alive = os.getppid() == parent or parent == 1
        except ProcessLookupError:
            alive = False
        except PermissionError:  # exists, owned by someone else
            alive = True
        if not alive:
            logging.getLogger(__name__).warning("the launcher (pid %d) is gone; stopping", pid)
            server.should_exit = True
            return


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args, settings = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, settings))


if __name__ == "__main__":
    main()
