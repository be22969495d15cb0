"""Benchmarks. ``python -m bench`` (or ``make bench``) runs them and writes BENCHMARKS.md."""

from __future__ import annotations

import re


def split_sections(text: str) -> list[str]:
    """The ``## `` sections of BENCHMARKS.md (what precedes the first one, the header, is dropped). Each command
    that writes figures (``make bench``, ``make soak``) replaces its own sections and keeps the others'."""
    return [part for part in re.split(r"(?m)^(?=## )", text) if part.startswith("## ")]
