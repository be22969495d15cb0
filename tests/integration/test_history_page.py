"""The Overview's trend under AppTest against the simulator: the refresher's history rows, drawn per account, and
a plain sentence while there are none."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.dashboard_harness import run_until
from tests.integration import sim_truth as truth
from tests.integration import test_pages
from tests.integration.test_pages import no_exception

make_dash = test_pages.make_dash  # the fixture: a fresh dashboard per test


def trend_chart(at) -> dict | None:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if "Trend" in json.dumps(spec.get("layout", {}).get("title", "")):
            return spec
    return None


def values(array) -> list[float]:
    """A trace's ``y``: a list, or plotly's typed array ``{"dtype": "f8", "bdata": <base64>}``."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return [np.nan if v is None else v for v in array]


def no_history_note(at) -> bool:
    return any(i.value.startswith("No history yet") for i in at.info)


def test_the_overview_shows_each_accounts_recorded_net_liquidation_and_daily_pnl(make_dash):
    dash = make_dash(history_minutes="0.001", refresh_seconds="300")
    at = dash.boot()
    from ibkr_desk.ui import services

    history = services.history()
    run_until(at, lambda at: len(history.frame()) > 0, what="the first history rows")
    history.db.write("DELETE FROM account_history")  # as before the first refresh: the app never deletes
    at.run()
    no_exception(at)
    assert no_history_note(at) and trend_chart(at) is None

    state = dash.sim_state()
    for _ in range(2):  # two refreshes: two points per account
        generation = services.refresher().status().generation
        services.refresher().request(again=True)
        assert services.refresher().wait(generation, timeout=90)
    # the refresher hands the snapshot on after its readers were woken: the rows follow a moment later
    run_until(at, lambda at: len(history.frame()) >= 2 * len(state["accounts"]), what="two rows each")
    chart = trend_chart(run_until(at, trend_chart, what="the trend chart"))
    assert not no_history_note(at)
    frame = history.frame()
    for acct in state["accounts"]:
        mine = frame[frame["account"] == acct["id"]]
        assert len(mine) >= 2 and (mine["base_currency"] == acct["base_currency"]).all()
        assert mine["net_liquidation"].iloc[-1] == pytest.approx(truth.net_liquidation(acct), abs=1)
        name = f"{acct['id']} ({acct['base_currency']})"
        lines = [t for t in chart["data"] if t["name"] == name]
        assert len(lines) == 2, f"net liquidation and daily P&L of {acct['id']}"
        assert values(lines[0]["y"]) == pytest.approx(mine["net_liquidation"].tolist())
        assert values(lines[1]["y"]) == pytest.approx(mine["daily_pnl"].tolist(), nan_ok=True)
