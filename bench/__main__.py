"""Run every benchmark and write BENCHMARKS.md (numbers from one run, side by side).

``python -m bench`` runs them all (about an hour: the memory run alone waits for 200 portfolio refreshes at
15,000 positions, each as soon as the refresher's schedule allows); ``python -m bench positions analytics`` runs only the named ones and keeps the other sections."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from bench import split_sections

OUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def _positions() -> str:
    from bench import positions

    return positions.run()


def _analytics() -> str:
    from bench import analytics

    return analytics.run()


def _dashboard() -> str:
    from bench import dashboard

    return dashboard.run()


def _browser() -> str:
    from bench import browser

    return browser.run_pages()


def _memory() -> str:
    from bench import browser

    return browser.run_memory()


def _viewers() -> str:
    """Ten browser sessions for two minutes against one: the issue Speed's viewers figure (bench/load.py)."""
    from bench.load import benchmark_section, run_load
    from tests.conftest import ARTIFACTS

    report = run_load(10, 2, ARTIFACTS)
    return benchmark_section(report, "python -m bench viewers",
                             title="## Ten viewers (`make bench`): ten dashboard sessions in Chromium against one")


def _live() -> str:
    from bench import live

    return live.run()


BENCHES = {"positions": _positions, "analytics": _analytics, "dashboard": _dashboard, "browser": _browser,
           "viewers": _viewers, "memory": _memory, "live": _live}
"""Each benchmark and the heading its section starts with, in the order they are written."""
HEADINGS = {"positions": "## Reading every position", "analytics": "## Analytics", "dashboard": "## Dashboard pages",
            "browser": "## The dashboard in Chromium", "viewers": "## Ten viewers", "memory": "## Memory over",
            "live": "## Live"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHES)} (default: all)")
    names = parser.parse_args().names or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}: choose from {', '.join(BENCHES)}")
    fresh = {name: BENCHES[name]() for name in names}
    old = split_sections(OUT.read_text() if OUT.exists() else "")  # read now: another run may have written since
    sections = []
    for name in BENCHES:  # each benchmark's section in its place, the fresh one or the one already there
        if name in fresh:
            sections.append(fresh[name])
        else:
            sections += [s for s in old if s.startswith(HEADINGS[name])]
    kept = [s for s in old if s.startswith(KEPT_SECTIONS)]  # written by other commands (make soak, make load)
    header = (f"# Benchmarks\n\nWritten by `python -m bench` (`make bench`), Python {platform.python_version()}, "
              f"{os.cpu_count()} cores; each section says when it was measured. Machines are noisy: compare ratios "
              "within a section, measured side by side in one run.\n\n")
    OUT.write_text(header + "\n".join(s.rstrip("\n") + "\n" for s in sections)
                   + "".join("\n" + s.rstrip("\n") + "\n" for s in kept))
    print(OUT.read_text())


KEPT_SECTIONS = ("## Trading day", "## Load")


if __name__ == "__main__":
    main()
