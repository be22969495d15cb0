"""Every dashboard page under AppTest against the simulator that the app's own GatewayManager starts: no exception,
and the figures on the page equal the ones worked out from ``/sim/state`` (tests/integration/sim_truth.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from ibkr.gateway import AuthState
from ibkr_desk.ui import fmt
from tests.dashboard_harness import PAGES, DashboardHarness, run_until
from tests.integration import sim_truth as truth

MASK = "•••••"


@pytest.fixture
def make_dash(tmp_path):
    """A fresh dashboard per test (``make_dash(tickle_seconds="1")`` for IBKR_* settings): Streamlit's caches
    cleared before and after, and no simulator process left running after."""
    made: list[DashboardHarness] = []

    def make(**settings: str) -> DashboardHarness:
        harness = DashboardHarness(tmp_path / f"dash{len(made)}", **settings).__enter__()
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.__exit__(None, None, None)
        assert harness.stopped_cleanly(), "the simulator started by the dashboard's GatewayManager is still running"


@pytest.fixture
def dash(make_dash) -> DashboardHarness:
    return make_dash()


@pytest.fixture(scope="class")
def shared_dash(tmp_path_factory) -> Iterator[DashboardHarness]:
    """One dashboard (simulator, gateway manager, login, first load) for the tests of a class that only read: each
    test still runs the app in a fresh AppTest session, so widget state does not carry over."""
    harness = DashboardHarness(tmp_path_factory.mktemp("shared-dash")).__enter__()
    yield harness
    harness.__exit__(None, None, None)
    assert harness.stopped_cleanly(), "the simulator started by the dashboard's GatewayManager is still running"


def amount(text: str) -> float:
    """'13,500,612 USD' / '+185,871 USD' / '-2,001 EUR' -> float."""
    return float(re.match(r"^([+-]?[\d,]+(?:\.\d+)?)", text.strip()).group(1).replace(",", ""))


def percent(text: str) -> float:
    """'10.3 %' -> 0.103."""
    return float(text.replace("%", "").strip()) / 100


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def widget(elements, label: str):
    return next(w for w in elements if w.label == label)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def report_ccy(at) -> str:
    return at.selectbox(key="report_currency").value


class TestPagesThatOnlyRead:
    """Read-only page checks, sharing one dashboard (the tests below this class each need a fresh one: faults,
    a short refresh interval, a logout)."""

    def test_overview_shows_net_liquidation_pnl_and_margin_per_account_and_in_total(self, shared_dash):
        dash = shared_dash
        at = dash.boot()
        no_exception(at)
        state, ccy = dash.sim_state(), report_ccy(at)
        nlv = {a["id"]: truth.net_liquidation(a) * truth.to_report(a, ccy) for a in state["accounts"]}
        assert amount(metric(at, "Net liquidation")) == pytest.approx(sum(nlv.values()), abs=1)
        upnl = sum(truth.unrealized_pnl(a) * truth.to_report(a, ccy) for a in state["accounts"])
        assert amount(metric(at, "Unrealised P&L")) == pytest.approx(upnl, abs=1)

        table = at.dataframe[0].value.set_index("account")
        for acct in state["accounts"]:
            row = table.loc[acct["id"]]
            assert row["net_liquidation_report"] == pytest.approx(nlv[acct["id"]], abs=0.05)
            assert row["positions"] == len(acct["positions"])
            assert row["base_currency"] == acct["base_currency"]
        summaries = {a["id"]: dash.api(f"/portfolio/{a['id']}/summary") for a in state["accounts"]}
        margin = truth.margin(state, summaries, ccy)
        assert percent(metric(at, "Margin utilisation (maint.)")) == pytest.approx(margin["Total"]["maint"], abs=5e-4)
        assert at.get("plotly_chart"), "the P&L by asset class chart is drawn"


    def test_positions_caption_counts_every_position_and_totals_their_market_value(self, shared_dash):
        dash = shared_dash
        at = dash.page(dash.boot(), "positions")
        no_exception(at)
        state, ccy = dash.sim_state(), report_ccy(at)
        count, value = truth.position_count(state), truth.market_value(state, ccy)
        caption = next(c.value for c in at.caption if " positions · market value " in c.value)
        assert caption == f"{count:,} positions · market value {value:,.0f} {ccy}"
        table = at.dataframe[0].value
        assert len(table) == count
        stocks = table[table["asset_class"] == "STK"]
        assert len(stocks) and (stocks["description"] != stocks["symbol"]).all(), "stocks show the company name"

        widget(at.multiselect, "Currency").select("JPY").run()
        no_exception(at)
        jpy = truth.position_count(state, currency="JPY")
        caption = next(c.value for c in at.caption if " positions · market value " in c.value)
        assert caption == f"{jpy:,} positions · market value {truth.market_value(state, ccy, currency='JPY'):,.0f} {ccy}"
        assert len(at.dataframe[0].value) == jpy > 0


    def test_margin_page_shows_utilisation_per_account_and_in_total(self, shared_dash):
        dash = shared_dash
        at = dash.page(dash.boot(), "margin")
        no_exception(at)
        state, ccy = dash.sim_state(), report_ccy(at)
        summaries = {a["id"]: dash.api(f"/portfolio/{a['id']}/summary") for a in state["accounts"]}
        expected = truth.margin(state, summaries, ccy)
        for acct in state["accounts"]:  # IBKR's equity with loan equals the one worked out from the positions
            assert summaries[acct["id"]]["equitywithloanvalue"]["amount"] == pytest.approx(expected[acct["id"]]["elv"],
                                                                                           abs=1)
        table = at.dataframe[0].value.set_index("account")
        for account, want in expected.items():
            assert table.loc[account, "utilisation_initial"] == pytest.approx(want["initial"] * 100, abs=1e-3)
            assert table.loc[account, "utilisation_maint"] == pytest.approx(want["maint"] * 100, abs=1e-3)
        assert percent(metric(at, "Initial utilisation")) == pytest.approx(expected["Total"]["initial"], abs=5e-4)
        assert percent(metric(at, "Maintenance utilisation")) == pytest.approx(expected["Total"]["maint"], abs=5e-4)
        assert at.get("plotly_chart"), "the utilisation chart is drawn"
        # Margin is called per account: the headline names the account nearest to a call, and shows its drop as
        # the table does (from 100 % on: none).
        drops = {a: percent(t) if t.endswith("%") and not t.startswith("none") else float("inf")
                 for a, t in table["drop_to_margin_call"].drop(index="Total", errors="ignore").items()}
        nearest = min(drops, key=drops.get)
        headline = next(m for m in at.metric if m.label.startswith("Drop to margin call"))
        assert headline.value == table.loc[nearest, "drop_to_margin_call"]
        if drops[nearest] < 1:
            assert headline.label == f"Drop to margin call ({nearest})"


    def test_currency_page_nets_positions_and_cash_including_a_borrowed_currency(self, shared_dash):
        dash = shared_dash
        at = dash.page(dash.boot(), "currency")
        no_exception(at)
        state, ccy = dash.sim_state(), report_ccy(at)
        table = at.dataframe[0].value.set_index("currency")
        for currency, want in truth.fx_exposure(state, ccy).items():
            assert table.loc[currency, "exposure_base"] == pytest.approx(want["report"], abs=0.05), currency
            assert table.loc[currency, "exposure_native"] == pytest.approx(want["native"], abs=0.05), currency
        assert len(at.get("plotly_chart")) == 2, "the diverging bars and the treemap"

        # One account that borrows a currency: the borrowed balance is a short, not left out.
        acct, borrowed = next((a, c) for a in state["accounts"] for c, v in a["cash"].items() if v < 0)
        at.selectbox(key="account").select(acct["id"]).run()
        no_exception(at)
        ccy = report_ccy(at)
        want = truth.fx_exposure(state, ccy, only=[acct["id"]])[borrowed]
        row = at.dataframe[0].value.set_index("currency").loc[borrowed]
        assert row["cash_native"] == pytest.approx(acct["cash"][borrowed], abs=0.05) and row["cash_native"] < 0
        assert row["exposure_native"] == pytest.approx(want["native"], abs=0.05)
        assert row["short_base"] == pytest.approx(want["short"], abs=0.05) and row["short_base"] < 0

        widget(at.selectbox, "Currency").select(borrowed).run()
        widget(at.slider, f"{borrowed} against {ccy}, %").set_value(10.0).run()
        change = metric(at, f"Net liquidation change if {borrowed} moves +10.0 %")
        assert amount(change) == pytest.approx(0.10 * want["report"], abs=1)


    def test_gateway_page_shows_the_state_and_recent_events(self, shared_dash):
        dash = shared_dash
        at = dash.page(dash.boot(), "gateway")
        no_exception(at)
        assert metric(at, "State") == "authenticated"
        assert metric(at, "Mode") == "sim"
        events = at.dataframe[0].value
        assert any("AUTHENTICATED" in e for e in events["event"])


    def test_privacy_switch_masks_every_amount_but_keeps_ratios(self, shared_dash):
        dash = shared_dash
        at = dash.boot()
        at.toggle(key="privacy").set_value(True).run()
        for page in PAGES[:4]:
            dash.page(at, page)
            no_exception(at)
            text = " ".join([m.value for m in at.metric] + [c.value for c in at.caption] + [m.value for m in at.markdown])
            for money in re.findall(r"[+-]?\d[\d,]*(?:\.\d+)? (?:USD|EUR|GBP)\b", text):
                pytest.fail(f"{page} shows an amount with privacy on: {money}")
        at = dash.page(at, "overview")
        assert metric(at, "Net liquidation").startswith(MASK)
        assert re.fullmatch(r"\d+\.\d %", metric(at, "Margin utilisation (maint.)"))
        assert (at.dataframe[0].value["net_liquidation_report"] == MASK).all()
        at = dash.page(at, "positions")
        assert MASK in next(c.value for c in at.caption if " positions · market value " in c.value)
        assert (at.dataframe[0].value[["quantity", "market_value", "unrealized_pnl"]] == MASK).all().all()


def last_good_note(at) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("Showing the last good data (as of ")]


def test_a_failed_refresh_keeps_the_last_good_data_with_its_time_and_the_reason(dash):
    at = dash.boot()
    before = metric(at, "Net liquidation")
    dash.admin("POST", "faults", json={"paths": ["/portfolio/*/summary"], "status": 503})
    widget(at.button, "Refresh now").click().run()
    run_until(at, last_good_note)
    assert ":material/warning: Degraded" in " ".join(m.value for m in at.sidebar.markdown)  # not "Connected"
    for page in PAGES[:4]:
        dash.page(at, page)
        no_exception(at)
        notes = last_good_note(at)
        assert notes and re.search(r"as of \d\d:\d\d:\d\d \w+\): .*503", notes[0]), page
        assert any(w.value.startswith("Stale: data as of") for w in at.sidebar.warning), page
        assert not at.error, page
    assert metric(dash.page(at, "overview"), "Net liquidation") == before

    dash.admin("DELETE", "faults")
    widget(at.button, "Refresh now").click().run()
    run_until(at, lambda at: not last_good_note(at))
    assert not at.sidebar.warning
    assert "Connected" in " ".join(m.value for m in at.sidebar.markdown)


def test_one_accounts_failing_summary_marks_that_account_and_leaves_the_others_on_the_page(dash):
    # A closed account or an advisor master without a summary failed the whole snapshot: every page went stale.
    at = dash.boot()
    state = dash.sim_state()
    broken, *others = [a["id"] for a in state["accounts"]]
    dash.admin("POST", "faults", json={"paths": [f"/portfolio/{broken}/summary"], "status": 500,
                                       "error": "Invalid account: closed"})
    try:
        widget(at.button, "Refresh now").click().run()
        run_until(at, lambda at: any(broken in c.value and "could not be read" in c.value for c in at.caption),
                  what="a note naming the account")
        for page in PAGES[:4]:
            dash.page(at, page)
            no_exception(at)
            assert not last_good_note(at), page  # the read succeeded for the other accounts
            assert [c.value for c in at.caption if broken in c.value and "balances and margin" in c.value], page
        table = dash.page(at, "overview").dataframe[0].value.set_index("account")
        assert set(others) <= set(table.index)
        assert dash.admin("GET", "stats")["requests"].get(f"GET /portfolio/{broken}/summary", 0) >= 1
    finally:
        dash.admin("DELETE", "faults")


def test_pages_never_wait_for_a_portfolio_read_they_show_the_last_snapshot_until_the_new_one_is_in(make_dash):
    # A page's run used to load the portfolio itself when it was due: a Submit clicked meanwhile waited ~30 s.
    dash = make_dash(refresh_seconds="300")
    at = dash.boot()
    from ibkr_desk.ui import loaders, services

    first = services.refresher().status().value.as_of
    dash.admin("POST", "faults", json={"paths": ["/portfolio/*/summary"], "latency": 5, "count": 3})
    widget(at.button, "Refresh now").click().run()
    run_until(at, lambda at: "Reading the portfolio from the gateway" in " ".join(c.value for c in at.sidebar.caption),
              timeout=10)
    shown = at.session_state["_page_context"].loaded
    assert shown.snapshot.as_of == first and shown.loading  # the run did not wait for the read it started
    assert f"As of {fmt.stamp(first)}" in " ".join(c.value for c in at.sidebar.caption)
    assert not loaders.poll(shown)  # nothing newer yet

    services.refresher().wait(shown.generation, timeout=90)
    assert loaders.poll(shown)  # the freshness fragment now redraws the page
    newer = services.refresher().status().value.as_of
    assert newer > first
    at.run()
    assert f"As of {fmt.stamp(newer)}" in " ".join(c.value for c in at.sidebar.caption)
    dash.admin("DELETE", "faults")


def test_when_the_gateway_needs_a_login_every_page_says_what_to_do(make_dash):
    dash = make_dash(tickle_seconds="1")
    at = dash.boot()
    dash.admin("POST", "session", json={"action": "logout"})
    deadline = time.monotonic() + 30
    while dash.manager.prompt is None and time.monotonic() < deadline:  # the keep-alive notices within a tickle
        time.sleep(0.2)
    assert dash.manager.prompt is not None, dash.manager.state
    for page in PAGES:
        dash.page(at, page)
        no_exception(at)
        prompts = [w.value for w in at.warning if "Log in" in w.value]
        assert prompts and dash.url in prompts[0], page
        links = at.get("link_button")
        assert links and links[0].proto.url.startswith(dash.url), page


def test_while_another_platform_holds_the_brokerage_session_the_portfolio_keeps_loading_read_only(make_dash):
    # IBKR serves /portfolio read-only while TWS holds the brokerage session; the dashboard showed nothing until
    # the trader took over (and kicked TWS out).
    from ibkr_desk.ui import services

    dash = make_dash(tickle_seconds="1")
    at = dash.boot()
    dash.admin("POST", "session", json={"action": "compete"})
    assert dash.manager.wait_for(AuthState.COMPETING, timeout=30), dash.manager.state
    before = services.refresher().status().generation
    services.refresher().request()
    assert services.refresher().wait(before, timeout=60), "the portfolio is read while competing"
    status = services.refresher().status()
    assert status.error is None and status.value is not None, status.error
    assert any("Daily P&L is unavailable" in w for w in status.value.warnings), status.value.warnings
    for page in ("overview", "positions", "margin"):
        dash.page(at, page)
        no_exception(at)
        assert [i.value for i in at.info if i.value.startswith("Read-only view: another platform")], page
        assert at.dataframe, f"{page} shows its table while competing"
        assert [w.value for w in at.warning if "another" in w.value.lower() or "take over" in w.value.lower()], page
    assert dash.sim_state()["session"]["competing"] is True, "nothing took the session over"


def test_gateway_actions_say_what_they_did_ask_before_logging_out_and_take_over_only_what_competes(make_dash):
    # Take over and re-authenticate failed silently; Log out had no confirmation; take over was offered with
    # nothing competing.
    dash = make_dash(tickle_seconds="1")
    at = dash.page(dash.boot(), "gateway")
    take_over = widget(at.button, "Take over")
    assert take_over.disabled and "Nothing competes" in take_over.help

    dash.admin("POST", "session", json={"action": "compete"})
    assert dash.manager.wait_for(AuthState.COMPETING, timeout=30), dash.manager.state
    at.run()
    widget(at.button, "Take over").click().run()
    assert [s.value for s in at.success if "Took the brokerage session over" in s.value], [e.value for e in at.error]
    assert dash.sim_state()["session"]["competing"] is False

    widget(at.button, "Log out").click().run()
    assert [w.value for w in at.warning if w.value.startswith("**Log out?**")]
    assert dash.sim_state()["session"]["sso"] is True, "nothing happens before the trader confirms"
    widget(at.button, "Cancel").click().run()
    assert dash.sim_state()["session"]["sso"] is True
    widget(at.button, "Log out").click().run()
    widget(at.button, "Yes, log out").click().run()
    no_exception(at)
    assert [s.value for s in at.success if s.value.startswith("Logged out.")], [e.value for e in at.error]
    assert dash.sim_state()["session"]["sso"] is False


def test_a_gateway_port_held_by_another_program_is_one_clear_message_not_a_traceback(make_dash):
    import socket

    dash = make_dash()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", dash.port))
    holder.listen()
    try:
        at = dash.app()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        (shown,) = [e.value for e in at.error]
        assert shown.startswith("The gateway could not be started: Port") and "not an IBKR gateway" in shown
    finally:
        holder.close()
