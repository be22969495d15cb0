"""Positions: single endpoints, and all_positions paging every account (advisors' sub-accounts included)."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest

from ibkr.errors import GatewayBusy
from tests.fixtures.cpapi_samples import load_sample
from tests.fixtures.ibkr_client import BASE

TEMPLATE = load_sample("GET_portfolio_accountId_positions_pageId.json")[2]  # the IBM stock row


def book(account_id: str, count: int) -> list[dict]:
    """``count`` distinct positions of one account, as IBKR's positions endpoint would list them."""
    return [{**TEMPLATE, "acctId": account_id, "conid": 10_000_000 + i, "ticker": f"S{i:05d}", "position": i + 1}
            for i in range(count)]


class PagedGateway:
    """Serves /portfolio/{acct}/positions/{page} from per-account books, 100 per page, and counts page calls."""

    def __init__(self, requests_mock, books: dict[str, list[dict]]) -> None:
        self.books = books
        self.pages: Counter[tuple[str, int]] = Counter()
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        requests_mock.register_uri("GET", re.compile(re.escape(BASE) + r"/portfolio/(\w+)/positions/(\d+)"),
                                   json=self._page)

    def _page(self, request, context):
        account, page = re.search(r"/portfolio/(\w+)/positions/(\d+)", request.path, re.I).groups()
        account = account.upper()
        with self._lock:
            self.pages[(account, int(page))] += 1
            self.threads.add(threading.current_thread().name)
        rows = self.books[account]
        return rows[int(page) * 100:(int(page) + 1) * 100]


def test_an_account_of_one_page_costs_one_request_and_a_large_one_reads_ahead_only_as_far_as_it_goes(
        client, gateway, requests_mock):
    # IBKR counts every page against its pacing: pages 1 and 2 of a 20-position account are requests for nothing.
    books = {"DU1": book("DU1", 20), "DU2": book("DU2", 99), "DU3": book("DU3", 1_250)}
    paged = PagedGateway(requests_mock, books)
    gateway.add("GET", "/portfolio/accounts", json_body=accounts_answer("DU1", "DU2", "DU3"))

    positions = client.all_positions()

    assert len(positions) == 20 + 99 + 1_250
    asked = {acct: sorted(page for (a, page) in paged.pages if a == acct) for acct in books}
    assert asked["DU1"] == [0] and asked["DU2"] == [0]
    assert asked["DU3"][:13] == list(range(13))  # every page of the account, in order
    assert len(asked["DU3"]) <= 13 + client.pages_in_flight - 1  # at most pages_in_flight - 1 empty pages past it


def accounts_answer(*ids: str, advisor: str | None = None) -> list[dict]:
    base = load_sample("GET_portfolio_accounts.json")[0]
    out = [{**base, "id": a, "accountId": a} for a in ids]
    if advisor:
        out.insert(0, {**base, "id": advisor, "accountId": advisor, "parent": {**base["parent"], "isMParent": True}})
    return out


def test_all_positions_pages_every_account_until_a_short_page(client, gateway, requests_mock):
    books = {"DU1": book("DU1", 750), "DU2": book("DU2", 100), "DU3": book("DU3", 0)}
    paged = PagedGateway(requests_mock, books)
    gateway.add("GET", "/portfolio/accounts", json_body=accounts_answer("DU1", "DU2", "DU3"))

    positions = client.all_positions()

    assert len(positions) == 850
    assert [p.acct_id for p in positions] == ["DU1"] * 750 + ["DU2"] * 100
    assert [p.conid for p in positions if p.acct_id == "DU1"] == [r["conid"] for r in books["DU1"]]
    assert all(count == 1 for count in paged.pages.values())  # no page asked twice
    assert max(page for (acct, page) in paged.pages if acct == "DU1") <= 7 + client.pages_in_flight - 1
    assert (("DU2", 1) in paged.pages) and (("DU3", 0) in paged.pages)  # a full page is followed by one more
    assert len(paged.threads) > 1  # pages were fetched in parallel


def test_all_positions_of_an_advisor_includes_its_subaccounts(client, gateway, requests_mock):
    PagedGateway(requests_mock, {"F100": [], "DU7": book("DU7", 3), "DU8": book("DU8", 120)})
    gateway.add("GET", "/portfolio/accounts", json_body=accounts_answer(advisor="F100"))
    gateway.add("GET", "/portfolio/subaccounts", json_body=accounts_answer("DU7", "DU8"))

    positions = client.all_positions()

    assert Counter(p.acct_id for p in positions) == {"DU7": 3, "DU8": 120}
    assert gateway.count("GET", "/portfolio/subaccounts") == 1


def test_an_individual_account_does_not_ask_for_subaccounts(client, gateway, requests_mock):
    PagedGateway(requests_mock, {"DU123456": book("DU123456", 5)})
    gateway.add("GET", "/portfolio/accounts", sample="GET_portfolio_accounts.json")

    assert len(client.all_positions()) == 5

    assert gateway.count("GET", "/portfolio/subaccounts") == 0


def test_fresh_invalidates_each_accounts_cache_before_reading(client, gateway, requests_mock):
    PagedGateway(requests_mock, {"DU1": book("DU1", 2), "DU2": book("DU2", 1)})
    for account in ("DU1", "DU2"):
        gateway.add("POST", f"/portfolio/{account}/positions/invalidate",
                    sample="POST_portfolio_accountId_positions_invalidate.json")

    positions = client.all_positions(["DU1", "DU2"], fresh=True)

    history = [(r.method, r.path) for r in requests_mock.request_history]
    invalidations = [i for i, (m, _) in enumerate(history) if m == "POST"]
    first_page = min(i for i, (m, _) in enumerate(history) if m == "GET")
    assert len(positions) == 3 and len(invalidations) == 2
    assert max(invalidations) < first_page
    assert gateway.count("GET", "/portfolio/accounts") == 0  # explicit accounts: no account listing needed


def test_a_failing_page_fails_the_whole_read(client, gateway, requests_mock):
    gateway.add("GET", "/portfolio/DU1/positions/0", status=503)
    gateway.add("GET", "/portfolio/DU1/positions/1", json_body=[])
    gateway.add("GET", "/portfolio/DU1/positions/2", json_body=[])

    with pytest.raises(GatewayBusy):
        client.all_positions(["DU1"])


def test_portfolio2_positions_carry_the_account(client, gateway):
    gateway.add("GET", "/portfolio2/DU1/positions", sample="GET_portfolio2_accountId_positions.json")

    (position,) = client.portfolio2_positions("DU1")

    assert position.acct_id == "DU1" and position.conid == 265598 and position.mkt_value == 82292949.324646


def test_position_by_conid_across_accounts(client, gateway):
    gateway.add("GET", "/portfolio/positions/8314", sample="GET_portfolio_positions_conid__withPartialSecDefForSomeAccount.json")
    gateway.add("GET", "/portfolio/DU123456/position/580947749",
                sample="GET_portfolio_accountid_position_conid__individualPositionOpt.json")

    by_account = client.positions_by_conid(8314)
    (option,) = client.position("DU123456", 580947749)

    assert set(by_account) == {"DU123456", "DU123457"}
    assert by_account["DU123457"][0].multiplier == 1.0 and by_account["DU123457"][0].ticker is None
    assert option.put_or_call == "P" and option.strike == 330.0 and option.mkt_value == -77.97


def test_positions_page_passes_ibkrs_query_parameters(client, gateway):
    gateway.add("GET", "/portfolio/DU1/positions/3", json_body=[])

    client.positions_page("DU1", 3, sort="name", direction="a", wait_for_secdef=True)

    sent = gateway.requests("GET", "/portfolio/DU1/positions/3")[0]
    assert sent.qs == {"sort": ["name"], "direction": ["a"], "waitforsecdef": ["true"]}
