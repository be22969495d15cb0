"""The simulator's process: it ends with the process that launched it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

LAUNCHER = """
import sys, time
from pathlib import Path
from ibkr.gateway import SimProcess
sim = SimProcess(["--port", "0", "--auto-login", "--no-pacing"], Path(sys.argv[1]))
sim.start()
print(sim.pid, flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # a zombie has ended; only its parent's reaping is left


def test_a_launcher_killed_with_sigkill_leaves_no_simulator_behind(tmp_path):
    # A dashboard killed with -9 left its simulator running with nobody to stop it (REVIEW-RELIABILITY).
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2])
    sim_pid = None
    try:
        assert launcher.stdout is not None
        sim_pid = int(launcher.stdout.readline())
        assert not gone(sim_pid)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(10)
        deadline = time.monotonic() + 10
        while not gone(sim_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(sim_pid), "the simulator outlived its launcher"
    finally:
        if launcher.poll() is None:
            launcher.kill()
        if sim_pid and not gone(sim_pid):
            os.kill(sim_pid, signal.SIGKILL)
