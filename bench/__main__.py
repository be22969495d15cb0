"""Run every benchmark and write BENCHMARKS.md (numbers from one run, side by side)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

from bench import dashboard, positions

OUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def main() -> None:
    sections = [positions.run(), dashboard.run()]
    header = (f"# Benchmarks\n\nWritten by `python -m bench` on {dt.date.today()} ({platform.python_version()}, "
              f"{os.cpu_count()} cores). One run; machines are noisy, so compare ratios within a run.\n\n")
    OUT.write_text(header + "\n".join(sections))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
