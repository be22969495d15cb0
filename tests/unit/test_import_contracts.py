"""The house rules, as tests: the library never imports the dashboard, Streamlit or the simulator; the simulator
never imports the client's side of the library (a fake that parses with the client's models shares their bugs).

Each rule is checked twice: by reading every module's imports (a lazy import inside a function counts too), and
by importing everything in a fresh interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LIBRARY_MUST_NOT = ("streamlit", "starlette", "uvicorn", "plotly", "ibkr_desk", "ibkr_sim")
SIM_MAY_USE_OF_IBKR = ("ibkr.config", "ibkr.errors")  # settings and the exception tree, nothing that parses


def imports_of(package: str) -> dict[str, set[str]]:
    """Module file -> every module it imports (absolute names), lazy imports included."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_library_imports_neither_the_dashboard_nor_streamlit_nor_the_simulator():
    bad = {f: sorted(n for n in names if _top(n) in LIBRARY_MUST_NOT) for f, names in imports_of("ibkr").items()}
    assert {f: n for f, n in bad.items() if n} == {}


def test_the_simulator_uses_only_the_settings_and_errors_of_the_library():
    def allowed(name: str) -> bool:
        return name == "ibkr" or any(name == ok or name.startswith(ok + ".") for ok in SIM_MAY_USE_OF_IBKR)

    bad = {f: sorted(n for n in names if _top(n) == "ibkr" and not allowed(n))
           for f, names in imports_of("ibkr_sim").items()}
    assert {f: n for f, n in bad.items() if n} == {}
    assert not any(_top(n) in ("streamlit", "ibkr_desk") for names in imports_of("ibkr_sim").values() for n in names)


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_all_of_the_library_loads_no_dashboard_and_no_server():
    loaded = _loaded_after(
        "import importlib, pkgutil, ibkr\n"
        "for m in pkgutil.walk_packages(ibkr.__path__, 'ibkr.'):\n"
        "    importlib.import_module(m.name)\n"
        "[getattr(ibkr, name) for name in ibkr.__all__]")
    assert "ibkr.client" in loaded  # the walk really imported the library
    assert sorted(m for m in loaded if _top(m) in LIBRARY_MUST_NOT) == []


@pytest.mark.parametrize("entry", ["ibkr_sim.app", "ibkr_sim.__main__"])
def test_the_simulator_loads_none_of_the_clients_models(entry):
    loaded = _loaded_after(f"import {entry}")
    assert "ibkr_sim.routes.orders" in loaded
    client_side = sorted(m for m in loaded if _top(m) == "ibkr" and m != "ibkr"
                         and not any(m == ok or m.startswith(ok + ".") for ok in SIM_MAY_USE_OF_IBKR))
    assert client_side == []
