"""The simulated gateway's contract lookup: IBKR's shapes (validated against IBKR's spec and compared with IBKR's
examples), the secdef/strikes quirk, and the option-chain walk a client does (search -> strikes -> info)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from ibkr.config import SimSettings
from ibkr_sim.app import create_app
from tests.fixtures.cpapi_samples import load_sample
from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()
SPY, AAPL, ES_INDEX = 756733, 265598, 11004968
TODAY = dt.date(2026, 12, 1)  # the world's date, pinned: its expiries and strikes are the same on every day


class Gateway:
    """An in-process simulated gateway, logged in and primed the way a client primes IBKR's."""

    def __init__(self, prime: bool = True) -> None:
        self.app = create_app(SimSettings(auto_login=True, tick_seconds=0, pacing=False, today=TODAY))
        self.sim = self.app.state.sim
        self.client = TestClient(self.app)
        if prime:
            for path in ("/iserver/accounts", "/portfolio/accounts"):
                assert self.client.get(f"/v1/api{path}").status_code == 200

    def call(self, method: str, path: str, **kwargs):
        return self.client.request(method, f"/v1/api{path}", **kwargs)

    def get(self, path: str, **params):
        """GET that must succeed and must match IBKR's spec."""
        r = self.call("GET", path, params=params)
        assert r.status_code == 200, r.text
        SPEC.validate("GET", path, 200, r.json())
        return r.json()


def sample(name: str):
    return load_sample(name)


def assert_like(ours, theirs, where: str = "$") -> None:
    """Every key of IBKR's example is present with the same JSON type. A null on either side matches anything:
    whether a field may be null is the spec's call, and every response here is also validated against it."""
    if theirs is None or ours is None:
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        missing = set(theirs) - set(ours)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key, value in theirs.items():
            assert_like(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: {ours!r} is not an array"
        for i, item in enumerate(ours[:3]):
            assert_like(item, theirs[0], f"{where}[{i}]")
    elif isinstance(theirs, bool):
        assert isinstance(ours, bool), f"{where}: {ours!r} is not a boolean"
    elif isinstance(theirs, (int, float)):
        assert isinstance(ours, (int, float)) and not isinstance(ours, bool), f"{where}: {ours!r} is not a number"
    else:
        assert isinstance(ours, str), f"{where}: {ours!r} is not a string"


@pytest.fixture
def gw() -> Gateway:
    return Gateway()


def test_search_answers_with_string_conids_and_option_months(gw):
    results = gw.get("/iserver/secdef/search", symbol="AAPL")

    stock = next(r for r in results if r["sections"][0]["secType"] == "STK")
    assert stock["conid"] == str(AAPL) and stock["symbol"] == "AAPL" and stock["description"] == "NASDAQ"
    opt = next(s for s in stock["sections"] if s["secType"] == "OPT")
    assert re.fullmatch(r"[A-Z]{3}\d{2}(;[A-Z]{3}\d{2})*", opt["months"])
    assert "SMART" in opt["exchange"].split(";")
    assert len(stock["opt"].split(";")) == len(opt["months"].split(";"))
    ibm_like, _, bond_like = sample("GET_iserver_secdef_search")
    assert_like(stock, ibm_like)
    bond = next(r for r in results if r["sections"] == [{"secType": "BOND"}])
    assert_like(bond, bond_like)
    assert bond["issuers"] and bond["issuers"][0]["id"].startswith("e")
    assert "AAPL" in gw.sim.searched_symbols


def test_search_by_post_body_and_by_company_name(gw):
    r = gw.call("POST", "/iserver/secdef/search", json={"symbol": "MSFT"})
    assert r.status_code == 200
    SPEC.validate("POST", "/iserver/secdef/search", 200, r.json())
    assert r.json()[0]["companyName"] == "MICROSOFT CORP"

    by_name = gw.get("/iserver/secdef/search", symbol="microsoft", name="true")
    assert [x["symbol"] for x in by_name] == ["MSFT"]


def test_unknown_symbol_searches_to_an_empty_list(gw):
    assert gw.get("/iserver/secdef/search", symbol="NOSUCHTHING") == []


def test_strikes_are_empty_until_the_underlying_was_searched(gw):
    month = gw.sim.world.instruments[700_000_000].month  # first SPY option's month

    before = gw.get("/iserver/secdef/strikes", conid=str(SPY), sectype="OPT", month=month)
    gw.get("/iserver/secdef/search", symbol="SPY")
    after = gw.get("/iserver/secdef/strikes", conid=str(SPY), sectype="OPT", month=month, exchange="SMART")

    assert before == {"call": [], "put": []}
    assert len(after["call"]) >= 10 and after["call"] == sorted(after["call"]) and after["put"] == after["call"]
    assert all(isinstance(k, float) for k in after["call"])
    spot = gw.sim.world.price(SPY)
    assert after["call"][0] < spot < after["call"][-1]


def test_option_chain_walk_gives_a_real_option_that_trsrv_secdef_knows(gw):
    search = gw.get("/iserver/secdef/search", symbol="SPY")
    months = next(s for s in search[0]["sections"] if s["secType"] == "OPT")["months"].split(";")
    strikes = gw.get("/iserver/secdef/strikes", conid=search[0]["conid"], sectype="OPT", month=months[1])
    strike = strikes["put"][len(strikes["put"]) // 2]

    info = gw.get("/iserver/secdef/info", conid=search[0]["conid"], sectype="OPT", month=months[1],
                  strike=str(strike), right="P", exchange="SMART")

    assert isinstance(info, list) and len(info) == 1, "IBKR answers derivative queries with an array"
    conid = info[0]["conid"]
    assert isinstance(conid, int) and info[0]["right"] == "P" and info[0]["strike"] == strike
    option = gw.sim.world.instruments[conid]
    assert (option.asset_class, option.und_conid, option.strike, option.right, option.month) == (
        "OPT", SPY, strike, "P", months[1])
    secdef = gw.get("/trsrv/secdef", conids=str(conid))["secdef"]
    assert secdef[0]["conid"] == conid and secdef[0]["undConid"] == SPY and secdef[0]["putOrCall"] == "P"
    assert float(secdef[0]["strike"]) == strike and secdef[0]["multiplier"] == 100
    contract = gw.get(f"/iserver/contract/{conid}/info")
    assert contract["instrument_type"] == "OPT" and contract["right"] == "PUT"
    assert contract["underlying_con_id"] == SPY and contract["local_symbol"].startswith("SPY   ")
    assert_like(contract, sample("GET_iserver_contract_conid_info__opt-contract-info"))


def test_secdef_info_for_a_stock_is_one_object_like_ibkrs_example(gw):
    info = gw.get("/iserver/secdef/info", conid=str(AAPL))

    assert info["conid"] == AAPL and info["ticker"] == "AAPL" and info["secType"] == "STK"
    assert_like(info, sample("GET_iserver_secdef_info"))


def test_futures_by_symbol_are_unexpired_and_lead_to_their_contracts(gw):
    today = int(gw.sim.world.today.strftime("%Y%m%d"))

    futures = gw.get("/trsrv/futures", symbols="ES,CL")

    assert set(futures) == {"ES", "CL"}
    es = futures["ES"]
    assert len(es) == 3 and all(f["expirationDate"] >= today for f in es)
    assert [f["expirationDate"] for f in es] == sorted(f["expirationDate"] for f in es)
    assert all(f["ltd"] < f["expirationDate"] and f["underlyingConid"] == ES_INDEX for f in es)
    assert_like(futures, {"ES": sample("GET_trsrv_futures")["ES"]})
    index = gw.get("/iserver/secdef/search", symbol="ES", secType="IND")
    assert index[0]["conid"] == str(ES_INDEX)
    fut_months = next(s for s in index[0]["sections"] if s["secType"] == "FUT")["months"].split(";")
    front = dt.datetime.strptime(str(es[0]["expirationDate"]), "%Y%m%d").strftime("%b%y").upper()
    assert fut_months[0] == front
    info = gw.get("/iserver/secdef/info", conid=str(ES_INDEX), sectype="FUT", month=front)
    assert [i["conid"] for i in info] == [es[0]["conid"]]
    assert gw.sim.world.instruments[es[0]["conid"]].multiplier == float(info[0]["multiplier"]) == 50


def test_crude_expires_in_the_month_before_its_contract_month_as_cme_rules(gw):
    # CME: CL "trading terminates 3 business days before the 25th calendar day of the month prior to the contract
    # month". On 2026-12-01 the front contract is CL JAN27, expiring Tuesday 2026-12-22 (the 25th is a Friday;
    # the simulator does not model exchange holidays).
    cl_index = gw.get("/iserver/secdef/search", symbol="CL", secType="IND")[0]
    months = next(s for s in cl_index["sections"] if s["secType"] == "FUT")["months"].split(";")
    assert months == ["JAN27", "FEB27", "MAR27"]
    (jan,) = gw.get("/iserver/secdef/info", conid=cl_index["conid"], sectype="FUT", month="JAN27")
    assert jan["maturityDate"] == "20261222"
    listed = {f["conid"]: f["expirationDate"] for f in gw.get("/trsrv/futures", symbols="CL")["CL"]}
    assert listed[jan["conid"]] == 20261222, "/trsrv/futures gives the expiry, in the month before JAN27"
    info = gw.get(f"/iserver/contract/{jan['conid']}/info")
    assert (info["contract_month"], info["local_symbol"], info["maturity_date"]) == ("202701", "CLF7", "20261222")
    (feb,) = gw.get("/iserver/secdef/info", conid=cl_index["conid"], sectype="FUT", month="FEB27")
    assert feb["maturityDate"] == "20270120", "25 Jan 2027 is a Monday: three business days before is the 20th"


def test_trsrv_stocks_lists_listings_with_their_us_flag(gw):
    stocks = gw.get("/trsrv/stocks", symbols="AAPL,SAP,NOSUCH")

    assert stocks["AAPL"][0]["contracts"] == [{"conid": AAPL, "exchange": "NASDAQ", "isUS": True}]
    assert stocks["SAP"][0]["contracts"][0]["isUS"] is False
    assert stocks["NOSUCH"] == []
    assert_like({"AAPL": stocks["AAPL"]}, {"AAPL": sample("GET_trsrv_stocks")["IBM"]})


def test_trsrv_secdef_describes_every_asset_class_and_caps_at_200_conids(gw):
    conids = [AAPL, ES_INDEX] + [next(c for c, i in gw.sim.world.instruments.items() if i.asset_class == cls)
                                 for cls in ("OPT", "FUT", "CASH", "BOND", "CRYPTO")]

    secdef = gw.get("/trsrv/secdef", conids=",".join(map(str, conids)))["secdef"]
    too_many = gw.call("GET", "/trsrv/secdef", params={"conids": ",".join(str(AAPL + i) for i in range(201))})

    assert [s["conid"] for s in secdef] == conids
    assert [s["assetClass"] for s in secdef] == ["STK", "IND", "OPT", "FUT", "CASH", "BOND", "CRYPTO"]
    for entry in secdef:
        assert_like(entry, sample("GET_trsrv_secdef")["secdef"][0])
    assert too_many.status_code == 400 and "200" in too_many.json()["error"]


def test_contract_info_for_a_stock_and_an_unknown_conid(gw):
    info = gw.get(f"/iserver/contract/{AAPL}/info")
    unknown = gw.call("GET", "/iserver/contract/1/info")

    assert info["con_id"] == AAPL and info["instrument_type"] == "STK" and info["r_t_h"] is True
    assert_like(info, sample("GET_iserver_contract_conid_info__stk-contract-info"))
    assert unknown.status_code == 500 and "error" in unknown.json()


def test_trsrv_needs_only_the_sso_session_but_secdef_needs_the_accounts_call():
    gw = Gateway(prime=False)

    stocks = gw.call("GET", "/trsrv/stocks", params={"symbols": "AAPL"})
    search = gw.call("GET", "/iserver/secdef/search", params={"symbol": "AAPL"})

    assert stocks.status_code == 200
    assert search.status_code == 500 and "accounts first" in search.json()["error"]
