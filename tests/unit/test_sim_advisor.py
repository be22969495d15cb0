"""The simulator as a financial advisor's login (``--subaccounts 250``): a DF master, 250 sub-accounts,
/portfolio/subaccounts capped at IBKR's 100, subaccounts2 pages of 20, and no /portfolio call for a sub-account
before a listing of the session named it (IBKR CPAPI v1 docs, /portfolio/subaccounts and /subaccounts2)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ibkr.config import SimSettings
from ibkr.models import Account
from ibkr_sim.app import create_app
from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()


class Advisor:
    """An in-process simulated advisor gateway, logged in, /portfolio primed by /portfolio/accounts."""

    def __init__(self, subaccounts: int = 250, pacing: bool = False) -> None:
        self.app = create_app(SimSettings(auto_login=True, tick_seconds=0, pacing=pacing, subaccounts=subaccounts,
                                          subaccount_positions=2))
        self.sim = self.app.state.sim
        self.client = TestClient(self.app)

    def get(self, path: str, **params):
        return self.client.get(f"/v1/api{path}", params=params)

    def ok(self, path: str, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        SPEC.validate("GET", path, 200, r.json())
        return r.json()


@pytest.fixture
def advisor() -> Advisor:
    return Advisor()


def test_portfolio_accounts_lists_the_master_which_the_client_takes_for_an_advisor(advisor):
    listed = advisor.ok("/portfolio/accounts")

    assert [a["accountId"] for a in listed] == [advisor.sim.world.master]
    master = Account.model_validate(listed[0])
    assert master.account_id.startswith("DF") and master.is_advisor
    assert len(advisor.sim.world.subaccount_ids) == 250


def test_subaccounts_stops_at_100_and_subaccounts2_pages_through_all_250(advisor):
    advisor.ok("/portfolio/accounts")
    first = advisor.ok("/portfolio/subaccounts")
    pages = [advisor.ok("/portfolio/subaccounts2", page=n) for n in range(14)]

    assert len(first) == 100 and all(a["faclient"] for a in first)
    assert [len(p["subaccounts"]) for p in pages] == [20] * 12 + [10, 0]
    assert [p["metadata"] for p in pages[11:]] == [  # the spec's "total number of accounts returned for the page"
        {"pageNum": 11, "pageSize": 20, "total": 20}, {"pageNum": 12, "pageSize": 20, "total": 10},
        {"pageNum": 13, "pageSize": 20, "total": 0}]
    paged = [a["accountId"] for p in pages for a in p["subaccounts"]]
    assert paged == advisor.sim.world.subaccount_ids, "every sub-account once, the first 100 included"
    assert [a["accountId"] for a in first] == paged[:100]


def test_a_subaccount_is_refused_until_a_listing_of_this_session_named_it(advisor):
    advisor.ok("/portfolio/accounts")
    advisor.ok("/portfolio/subaccounts")
    in_first_100, past_100 = advisor.sim.world.subaccount_ids[99], advisor.sim.world.subaccount_ids[200]

    refused = advisor.get(f"/portfolio/{past_100}/summary")
    advisor.ok(f"/portfolio/{in_first_100}/summary")
    advisor.ok("/portfolio/subaccounts2", page=10)  # sub-accounts 200-219
    served = advisor.get(f"/portfolio/{past_100}/ledger")

    assert refused.status_code == 400 and past_100 in refused.json()["error"]
    assert "subaccounts" in refused.json()["error"]
    assert served.status_code == 200
    assert advisor.get(f"/portfolio/{advisor.sim.world.master}/summary").status_code == 200


def test_a_new_login_forgets_which_subaccounts_were_listed(advisor):
    advisor.ok("/portfolio/accounts")
    advisor.ok("/portfolio/subaccounts")
    sub = advisor.sim.world.subaccount_ids[0]
    assert advisor.get(f"/portfolio/{sub}/positions/0").status_code == 200

    advisor.sim.session.login()
    advisor.ok("/portfolio/accounts")

    assert advisor.get(f"/portfolio/{sub}/positions/0").status_code == 400


def test_subaccounts2_requires_a_page(advisor):
    advisor.ok("/portfolio/accounts")

    without_page = advisor.get("/portfolio/subaccounts2")

    assert without_page.status_code == 400 and "page" in without_page.json()["error"]


def test_subaccounts2_is_paced_one_per_five_seconds_as_the_client_paces_it():
    paced = Advisor(subaccounts=120, pacing=True)
    paced.ok("/portfolio/accounts")

    first = paced.get("/portfolio/subaccounts2", page=0)
    second = paced.get("/portfolio/subaccounts2", page=1)

    assert first.status_code == 200
    assert second.status_code == 429 and paced.sim.pacer.rate_limited == 1


def test_without_subaccounts_the_world_is_the_default_one():
    plain = create_app(SimSettings(auto_login=True, tick_seconds=0, pacing=False)).state.sim.world

    assert plain.master is None and len(plain.accounts) == 3
    assert plain.subaccount_ids == list(plain.accounts)
