"""Account endpoints: account lists, switching, summary, ledger, allocation, partitioned P&L."""

from __future__ import annotations

import threading
import time

import pytest

from ibkr.errors import UnknownAccount
from ibkr.models import Account, AccountSummary, IserverAccounts, Ledger
from tests.fixtures.cpapi_samples import sample_text


def test_portfolio_accounts_are_models(client, gateway):
    gateway.add("GET", "/portfolio/accounts", sample="GET_portfolio_accounts.json")

    (account,) = client.portfolio_accounts()

    assert isinstance(account, Account)
    assert (account.account_id, account.currency, account.type, account.is_advisor) == ("DU123456", "USD", "DEMO",
                                                                                        False)


def test_iserver_accounts_are_cached_for_order_checks(client, gateway):
    gateway.add("GET", "/iserver/accounts", sample="GET_iserver_accounts.json")

    accounts = client.iserver_accounts()
    first = client.tradable_account_ids()
    again = client.tradable_account_ids()

    assert isinstance(accounts, IserverAccounts) and accounts.is_paper
    assert accounts.acct_props["U1234567"].supports_fractions
    assert first == again == ["U1234567"]
    assert gateway.count("GET", "/iserver/accounts") == 1


def test_callers_asking_for_the_tradable_accounts_at_once_share_one_read(client, gateway):
    # The live-orders and trades readers start together and both need the account list: one request, not two.
    def slow(request, context):
        time.sleep(0.3)  # both callers arrive while the first read is on the wire
        return sample_text("GET_iserver_accounts.json")

    gateway.add("GET", "/iserver/accounts", text=slow, headers={"Content-Type": "application/json"})
    seen: list[list[str]] = []
    threads = [threading.Thread(target=lambda: seen.append(client.tradable_account_ids())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert seen == [["U1234567"], ["U1234567"]]
    assert gateway.count("GET", "/iserver/accounts") == 1


def test_competing_session_answers_no_accounts(client, gateway):
    gateway.add("GET", "/iserver/accounts", json_body={})

    assert client.iserver_accounts().accounts == []


def test_switch_account_sends_the_account_id(client, gateway):
    gateway.add("POST", "/iserver/account", sample="POST_iserver_account.json")

    switched = client.switch_account("U2234567")

    assert switched.set and switched.acct_id == "U2234567"
    assert gateway.body("POST", "/iserver/account") == {"acctId": "U2234567"}


def test_summary_ledger_allocation_meta(client, gateway):
    gateway.add("GET", "/portfolio/DU123456/summary", sample="GET_portfolio_accountId_summary.json")
    gateway.add("GET", "/portfolio/DU123456/ledger", sample="GET_portfolio_accountId_ledger.json")
    gateway.add("GET", "/portfolio/DU123456/allocation", sample="GET_portfolio_accountId_allocation.json")
    gateway.add("GET", "/portfolio/DU123456/meta", sample="GET_portfolio_accountId_meta.json")

    summary = client.account_summary("DU123456")
    ledger = client.ledger("DU123456")
    allocation = client.allocation("DU123456")
    meta = client.account_meta("DU123456")

    assert isinstance(summary, AccountSummary) and summary.maint_margin_req == 235067.203125
    assert isinstance(ledger, Ledger) and ledger.base.cash_balance == 218093824.0
    assert allocation.asset_class.long["STK"] == pytest.approx(1564447.6240790943)
    assert allocation.asset_class.short["CASH"] < 0
    assert meta.account_alias == "Retirement"


def test_unknown_account_in_a_portfolio_call(client, gateway):
    gateway.add("GET", "/portfolio/U999/summary", status=400, json={"error": "Account U999 is invalid"})

    with pytest.raises(UnknownAccount, match="U999"):
        client.account_summary("U999")


def test_pnl_asks_again_when_the_first_answer_is_empty(client, gateway, sleeps):
    gateway.add("GET", "/iserver/account/pnl/partitioned",
                {"json": {"upnl": {}}},
                {"text": sample_text("GET_iserver_account_pnl_partitioned__success.json")})

    pnl = client.pnl_partitioned()

    assert pnl.for_account("U1234567").daily_pnl == -12510.0
    assert gateway.count("GET", "/iserver/account/pnl/partitioned") == 2
    assert sleeps == [client.pnl_poll_interval]


def test_pnl_with_data_is_asked_once(client, gateway, sleeps):
    gateway.add("GET", "/iserver/account/pnl/partitioned", sample="GET_iserver_account_pnl_partitioned__success.json")

    pnl = client.pnl_partitioned()

    assert not pnl.is_empty and gateway.count() == 1 and sleeps == []


def test_pnl_still_empty_after_the_second_call_is_returned_empty(client, gateway):
    gateway.add("GET", "/iserver/account/pnl/partitioned", json_body={"upnl": {}})

    pnl = client.pnl_partitioned()

    assert pnl.is_empty and gateway.count() == 2
