"""The history of each account's figures: a row per account after each refresh, at most every interval, the
figures the pages compute, and nothing for an account whose read failed (never zeros).

The snapshots are the hand-worked world of ``test_analytics`` (U1 base USD, U2 base EUR)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from ibkr.db import Database
from ibkr.history import History
from ibkr.models import Account
from ibkr.portfolio import PortfolioSnapshot
from ibkr.refresher import Refresher
from tests.unit.test_analytics import LEDGERS, PNL, SUMMARIES, U1_POSITIONS, U2_POSITIONS

T0 = dt.datetime(2025, 3, 14, 15, 30, tzinfo=dt.UTC)
ACCOUNTS = [Account.model_validate({"accountId": "U1", "currency": "USD"}),
            Account.model_validate({"accountId": "U2", "currency": "EUR"})]


def snapshot(at: dt.datetime, *, summaries=None, ledgers=None, pnl=PNL) -> PortfolioSnapshot:
    return PortfolioSnapshot(at, ACCOUNTS, U1_POSITIONS + U2_POSITIONS,
                             SUMMARIES if summaries is None else summaries,
                             LEDGERS if ledgers is None else ledgers, pnl)


@pytest.fixture
def history(tmp_path):
    made = History(tmp_path / "desk.sqlite3", minutes=5)
    yield made
    made.db.close()


def rows(history: History) -> list[dict]:
    return [dict(r) for r in history.db.read("SELECT * FROM account_history ORDER BY at, account")]


def test_each_refresh_writes_a_row_per_account_with_the_figures_the_pages_show(history):
    written = history.record(snapshot(T0))
    assert [f.account for f in written] == ["U1", "U2"]
    u1, u2 = rows(history)
    assert (u1["account"], u1["base_currency"], u1["at"]) == ("U1", "USD", T0.isoformat())
    # net liquidation from the summary; daily P&L the dpl of the P&L row; maint. 45,000 / 100,000 (Margin page)
    assert u1["net_liquidation"] == pytest.approx(103_125) and u1["daily_pnl"] == pytest.approx(1_200)
    assert u1["margin_utilisation"] == pytest.approx(0.45)
    assert u2["base_currency"] == "EUR" and u2["net_liquidation"] == pytest.approx(19_800)
    assert u2["daily_pnl"] == pytest.approx(-400) and u2["margin_utilisation"] == pytest.approx(0.925)
    frame = history.frame(now=T0)
    fx = frame.set_index("account")["fx_exposure"]
    # U1 (Currency exposure page): JPY -1,000,000 cash + 500,000 of 7203 = -500,000 JPY x 0.0065 = -3,250 USD;
    # EUR 20,000 cash + 15,000 SAP + 500 FGBL P&L = 35,500 EUR x 1.25
    assert fx["U1"]["JPY"] == pytest.approx(-3_250) and fx["U1"]["EUR"] == pytest.approx(35_500 * 1.25)
    # U2, base EUR: USD -2,000 cash + 4,000 MSFT = 2,000 USD x 0.8; GBP 1,000 x 1.2
    assert fx["U2"]["USD"] == pytest.approx(1_600) and fx["U2"]["GBP"] == pytest.approx(1_200)


def test_rows_are_not_written_more_often_than_the_interval(history):
    for minutes in (0, 1, 2, 4.9, 5, 6, 9.9, 10.5):
        history.record(snapshot(T0 + dt.timedelta(minutes=minutes)))
    times = sorted({r["at"] for r in rows(history)})
    assert times == [(T0 + dt.timedelta(minutes=m)).isoformat() for m in (0, 5, 10.5)]
    assert len(rows(history)) == 6  # two accounts each time


def test_a_restart_keeps_the_interval_from_the_rows_already_written(tmp_path):
    first = History(tmp_path / "desk.sqlite3", minutes=5)
    first.record(snapshot(T0))
    again = History(tmp_path / "desk.sqlite3", minutes=5)
    assert again.record(snapshot(T0 + dt.timedelta(minutes=2))) == []
    assert len(again.record(snapshot(T0 + dt.timedelta(minutes=5)))) == 2
    first.db.close()


def test_an_account_whose_read_failed_writes_nothing_not_zeros(history):
    # U2's summary and ledger could not be read (load_portfolio leaves it out with a warning): only U1 is written
    history.record(snapshot(T0, summaries={"U1": SUMMARIES["U1"]}, ledgers={"U1": LEDGERS["U1"]}))
    assert [r["account"] for r in rows(history)] == ["U1"]
    # and once it is read again, its first row is written at once
    history.record(snapshot(T0 + dt.timedelta(minutes=1)))
    assert [(r["account"], r["net_liquidation"]) for r in rows(history)] == [
        ("U1", pytest.approx(103_125)), ("U2", pytest.approx(19_800))]


def test_daily_pnl_that_was_not_read_is_stored_as_missing_not_zero(history):
    history.record(snapshot(T0, pnl=None))
    assert [r["daily_pnl"] for r in rows(history)] == [None, None]
    assert [r["net_liquidation"] for r in rows(history)] == [pytest.approx(103_125), pytest.approx(19_800)]


def test_the_refresher_hands_each_good_snapshot_to_the_history_and_a_failed_load_writes_nothing(history):
    """The wiring of the dashboard (``services.refresher``): ``on_result=history.record``."""
    from ibkr.errors import GatewayUnavailable

    loads = iter([snapshot(T0), GatewayUnavailable("down"), snapshot(T0 + dt.timedelta(minutes=6))])
    done = threading.Event()

    def load():
        item = next(loads)
        if isinstance(item, Exception):
            raise item
        return item

    def record(snap):
        history.record(snap)
        if snap.as_of > T0:
            done.set()

    refresher = Refresher(load, 0.05, on_result=record, name="test-history").start()
    try:
        assert done.wait(10)
    finally:
        refresher.stop()
    assert sorted({r["at"] for r in rows(history)}) == [T0.isoformat(), (T0 + dt.timedelta(minutes=6)).isoformat()]
    assert len(rows(history)) == 4


def test_the_table_lives_in_the_desks_database(tmp_path):
    history = History(tmp_path / "desk.sqlite3")
    history.record(snapshot(T0))
    assert Database.at(tmp_path / "desk.sqlite3") is history.db
    assert len(history.frame(["U2"], now=T0)) == 1 and history.frame([], now=T0).empty
    assert history.frame(now=T0 + dt.timedelta(days=8)).empty  # older than the window asked for
    history.db.close()
