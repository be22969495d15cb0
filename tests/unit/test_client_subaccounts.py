"""An advisor's sub-accounts: every one listed, past /portfolio/subaccounts' 100, by paging subaccounts2 to the end.

The pages follow IBKR's OpenAPI spec: 20 accounts, ``metadata`` {pageNum, pageSize, total} with ``total`` "the
total number of accounts returned for the page" (the spec's example answers total 1 for one account).
"""

from __future__ import annotations

import pytest

from tests.fixtures.cpapi_samples import load_sample
from tests.fixtures.ibkr_client import BASE

ACCOUNT = load_sample("GET_portfolio_subaccounts.json")[0]
MASTER = "F7654321"


def account(account_id: str, **extra) -> dict:
    return {**ACCOUNT, "id": account_id, "accountId": account_id, "accountVan": account_id, "desc": account_id,
            **extra}


def structure(count: int) -> list[str]:
    return [f"DU{1_000_000 + n}" for n in range(count)]


def page_of(ids: list[str], page: int, total_is: str = "page") -> dict:
    rows = [account(i, faclient=True) for i in ids[page * 20:(page + 1) * 20]]
    total = len(rows) if total_is == "page" else len(ids)
    return {"metadata": {"pageNum": page, "pageSize": 20, "total": total}, "subaccounts": rows}


def serve_advisor(gateway, requests_mock, ids: list[str], total_is: str = "page") -> None:
    """An advisor login: /portfolio/accounts lists the master; subaccounts the first 100; subaccounts2 pages."""
    gateway.add("GET", "/portfolio/accounts", json_body=[account(MASTER)])
    gateway.add("GET", "/portfolio/subaccounts", json_body=[account(i, faclient=True) for i in ids[:100]])
    requests_mock.get(BASE + "/portfolio/subaccounts2",
                      json=lambda request, context: page_of(ids, int(request.qs["page"][0]), total_is))


def pages_asked(gateway) -> list[int]:
    return [int(r.qs["page"][0]) for r in gateway.requests("GET", "/portfolio/subaccounts2")]


def test_an_advisor_with_250_subaccounts_lists_every_one_when_total_counts_the_page(client, gateway, requests_mock):
    ids = structure(250)
    serve_advisor(gateway, requests_mock, ids)

    listed = client.position_account_ids()

    assert listed == [MASTER, *ids], "the master and every sub-account, each once, in IBKR's order"
    assert pages_asked(gateway) == list(range(13)), "pages 0-12: the 13th (10 accounts) is short and ends it"
    assert gateway.count("GET", "/portfolio/subaccounts") == 1


def test_paging_goes_on_past_a_full_page_whose_total_equals_the_page_size(client, gateway, requests_mock):
    # 240 sub-accounts: every page is full and says total 20; only the empty page 12 says the structure ended.
    ids = structure(240)
    serve_advisor(gateway, requests_mock, ids)

    listed = client.position_account_ids()

    assert len(listed) == 1 + 240 and set(listed) == {MASTER, *ids}
    assert pages_asked(gateway) == list(range(13))


@pytest.mark.parametrize("total_is", ["page", "structure"])
def test_either_reading_of_total_lists_the_same_accounts(client, gateway, requests_mock, total_is):
    ids = structure(130)
    serve_advisor(gateway, requests_mock, ids, total_is)

    assert client.position_account_ids() == [MASTER, *ids]
    assert pages_asked(gateway) == list(range(7))


def test_a_gateway_that_ignores_page_ends_the_paging_instead_of_looping(client, gateway, requests_mock):
    # The spec lists no page parameter; a gateway that ignored it would answer page 0 for every page.
    ids = structure(300)
    gateway.add("GET", "/portfolio/accounts", json_body=[account(MASTER)])
    gateway.add("GET", "/portfolio/subaccounts", json_body=[account(i) for i in ids[:100]])
    gateway.add("GET", "/portfolio/subaccounts2", json_body=page_of(ids, 0))

    listed = client.position_account_ids()

    assert listed == [MASTER, *ids[:100]], "the first 100 of subaccounts are kept"
    assert pages_asked(gateway) == [0, 1], "page 1 added nobody new: stop"
