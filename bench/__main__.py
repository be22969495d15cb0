"""Run every benchmark and write BENCHMARKS.md (numbers from one run, side by side)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

from bench import dashboard, positions, split_sections

OUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def main() -> None:
    sections = [positions.run(), dashboard.run()]
    header = (f"# Benchmarks\n\nWritten by `python -m bench` on {dt.date.today()} ({platform.python_version()}, "
              f"{os.cpu_count()} cores). One run; machines are noisy, so compare ratios within a run.\n\n")
    kept = [s for s in split_sections(OUT.read_text() if OUT.exists() else "")
            if s.startswith(KEPT_SECTIONS)]  # written by other commands (make soak)
    OUT.write_text(header + "\n".join(sections) + "".join("\n" + s.rstrip("\n") + "\n" for s in kept))
    print(OUT.read_text())


KEPT_SECTIONS = ("## Trading day",)



if __name__ == "__main__":
    main()
