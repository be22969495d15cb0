"""``python -m ibkr.gateway status|start|stop``: the gateway manager for operators, configured by IBKR_* settings.

- ``status``: tickle the configured gateway once and print its state (exit 0 authenticated, 1 a person must act,
  2 not running, 3 bad settings). ``--json`` prints the full status.
- ``start``: start (or find) the gateway and keep its session alive in the foreground until Ctrl-C or SIGTERM;
  prompts are printed; SIGHUP restarts the gateway it runs. This is the gateway service (deploy/systemd): its pid
  goes to a pid file so ``stop`` can find it, and its status to a file a dashboard follows instead of keeping
  the session a second time (:mod:`ibkr.gateway._service`); ``status`` reads that file while it runs.
- ``stop``: stop what ``start`` runs (SIGTERM to the ``start`` command, which stops the gateway it started).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

from ibkr.config import Settings, load_settings
from ibkr.errors import ConfigurationError, IbkrError
from ibkr.gateway._manager import GatewayManager
from ibkr.gateway._process import keeper_pid_file, pid_in
from ibkr.gateway._prompts import Prompt
from ibkr.gateway._record import GatewayStatus
from ibkr.gateway._service import Publisher
from ibkr.gateway._state import AuthState
from ibkr.state import open_private

pid_file = keeper_pid_file
running_pid = pid_in


def describe(status: GatewayStatus) -> str:
    lines = [f"{status.state.label} ({status.state.name}) - {status.mode} gateway at {status.url}"]
    if status.server_name or status.server_version:
        lines.append(f"  server: {status.server_name or '?'} {status.server_version or ''}".rstrip())
    if status.sso_expires_at:
        lines.append(f"  SSO expires: {status.sso_expires_at.isoformat(timespec='seconds')}")
    if status.last_tickle_result:
        lines.append(f"  last tickle: {status.last_tickle_result}")
    if status.pid:
        lines.append(f"  pid: {status.pid}")
    if status.log_path:
        lines.append(f"  log: {status.log_path}")
    if status.last_error:
        lines.append(f"  last error: {status.last_error}")
    if status.state in (AuthState.NO_SESSION, AuthState.NOT_CONNECTED):
        lines.append(f"  log in at: {status.login_url}")
    return "\n".join(lines)


def cmd_status(settings: Settings, as_json: bool) -> int:
    manager = GatewayManager(settings)
    try:
        state = manager.check()
        status = manager.status()
    finally:
        manager.stop()
    if as_json:
        print(json.dumps(status.as_dict(), indent=2))
    else:
        print(describe(status))
        owner = running_pid(pid_file(settings))
        if owner:
            print(f"  kept alive by `python -m ibkr.gateway start` (pid {owner})")
    if state is AuthState.AUTHENTICATED:
        return 0
    return 2 if state is AuthState.NOT_RUNNING else 1


def cmd_start(settings: Settings) -> int:
    path = pid_file(settings)
    other = running_pid(path)
    if other:
        print(f"`python -m ibkr.gateway start` already runs for port {settings.gateway_port} (pid {other})")
        return 1
    stop, reload = threading.Event(), threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload.set())  # a following dashboard's Restart; systemctl reload

    def show(prompt: Prompt) -> None:
        print(f"[{prompt.kind.name}] {prompt.message}", flush=True)

    manager = GatewayManager(settings, follow=False)  # this process is the keeper the others follow
    manager.on_prompt(show)
    publisher, reloads = Publisher(settings), 0

    def publish() -> None:  # with the last tickle's session token: a follower's websocket opens with it
        publisher.maybe(manager.status(), reloads=reloads, session_token=manager.record.session_token)

    # The pid file is written before the gateway starts: a dashboard opened meanwhile sees that this process
    # owns the gateway and waits for it instead of starting a second one (SessionKeeper.owned_elsewhere).
    with open_private(path, "w") as out:  # 0600
        out.write(str(os.getpid()))
    try:
        manager.start()
        publish()
        deadline = time.monotonic() + 30  # IBKR's gateway may take that long to answer; followers hear meanwhile
        while (not manager.wait_for(AuthState.AUTHENTICATED, AuthState.NO_SESSION, AuthState.COMPETING, timeout=1)
               and time.monotonic() < deadline and not stop.is_set()):
            publish()
        print(describe(manager.status()), flush=True)
        last = manager.state
        while not stop.wait(1.0):
            if reload.is_set():
                reload.clear()
                print(f"{time.strftime('%H:%M:%S')} SIGHUP: restarting the gateway", flush=True)
                try:
                    manager.restart()
                except IbkrError as exc:
                    print(f"{time.strftime('%H:%M:%S')} restart failed: {exc}", flush=True)
                reloads += 1
            if manager.state is not last:
                last = manager.state
                print(f"{time.strftime('%H:%M:%S')} {last.label} ({last.name})", flush=True)
            publish()
    finally:
        manager.stop()
        if running_pid(path) in (None, os.getpid()):
            path.unlink(missing_ok=True)
            publisher.withdraw()
    return 0


def cmd_stop(settings: Settings) -> int:
    path = pid_file(settings)
    pid = running_pid(path)
    if pid is None:
        print(f"nothing to stop: no `python -m ibkr.gateway start` runs for port {settings.gateway_port}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"stopped (pid {pid})")
            return 0
        time.sleep(0.1)
    print(f"pid {pid} did not stop within 15 s", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ibkr.gateway", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("status", "start", "stop"))
    parser.add_argument("--json", action="store_true", help="status: print the full status as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the manager does")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "start" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        if args.command == "status":
            return cmd_status(settings, args.json)
        if args.command == "start":
            return cmd_start(settings)
        return cmd_stop(settings)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 3
    except IbkrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
