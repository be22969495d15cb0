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


def machine() -> str:
    """This machine, as a benchmark names it: cores and CPU model, memory, Python."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    return f"{os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.0f} GB, Python {platform.python_version()}"


def measured(command: str) -> str:
    """The line under a section's heading: the command, the date and the machine."""
    return f"Measured by `{command}` on {dt.date.today()}: {machine()}."
