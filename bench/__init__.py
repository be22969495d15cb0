"""Benchmarks. ``python -m bench`` (or ``make bench``) runs them and writes BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def split_sections(text: str) -> list[str]:
    """The ``## `` sections of BENCHMARKS.md (what precedes the first one, the header, is dropped). Each command
    that writes figures (``make bench``, ``make soak``) replaces its own sections and keeps the others'."""
    return [part for part in re.split(r"(?m)^(?=## )", text) if part.startswith("## ")]


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """The median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory from ``/proc/<pid>/status``: ``VmRSS`` (resident now) or ``VmHWM`` (its peak), in MB."""
    found = re.search(rf"^{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    if found is None:
        raise KeyError(field)
    return int(found.group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, str, int]]:
    """Every running process as (pid, command name, parent pid), from ``/proc/<pid>/stat``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            found.append((int(stat.parent.name), text[text.index("(") + 1:text.rindex(")")],
                          int(text.rsplit(")", 1)[1].split()[1])))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return found


def pids_named(name: str) -> list[int]:
    """Every running process whose command name is ``name``."""
    return [pid for pid, comm, _ in _processes() if comm == name]


def renice_tree(pid: int, niceness: int) -> int:
    """Give the process ``pid``, its descendants and every thread of theirs the CPU priority ``niceness`` (on Linux
    a nice value is a thread's, and a thread started later inherits its starter's); how many threads changed."""
    children: dict[int, list[int]] = {}
    for child, _, parent in _processes():
        children.setdefault(parent, []).append(child)
    changed, todo = 0, [pid]
    while todo:
        process = todo.pop()
        todo += children.get(process, [])
        for task in Path(f"/proc/{process}/task").glob("[0-9]*"):
            try:
                os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)
                changed += 1
            except OSError:
                continue  # ended meanwhile
    return changed


def cpu_seconds_named(name: str) -> float:
    """The CPU time so far of every running process whose command name is ``name`` (e.g. ``chromium``: a
    browser's many processes together); processes that end between two looks drop out of the sum."""
    total = 0.0
    for pid in pids_named(name):
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile
    return total


def machine() -> str:
    """This machine, as a benchmark names it: cores and CPU model, memory, Python."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    return f"{os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.0f} GB, Python {platform.python_version()}"


def measured(command: str) -> str:
    """The line under a section's heading: the command, the date and the machine."""
    return f"Measured by `{command}` on {dt.date.today()}: {machine()}."
