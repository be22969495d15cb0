"""Contract endpoints: secdef search/strikes/info, /trsrv lookups (batched), contract info, currency pairs."""

from __future__ import annotations

from ibkr.models import SecdefInfo


def test_secdef_search_sends_ibkrs_parameters_and_parses_sections(client, gateway):
    gateway.add("GET", "/iserver/secdef/search", sample="GET_iserver_secdef_search.json")

    results = client.secdef_search("IBM", sec_type="STK")

    assert [r.conid for r in results] == [8314, 41645598, 2147483647]
    assert results[0].section("OPT").exchange[:2] == ["SMART", "AMEX"]
    assert gateway.requests()[0].qs == {"symbol": ["ibm"], "sectype": ["stk"]}


def test_strikes_and_info_for_an_option_month(client, gateway):
    gateway.add("GET", "/iserver/secdef/strikes", sample="GET_iserver_secdef_strikes.json")
    gateway.add("GET", "/iserver/secdef/info", json_body=[
        {"conid": 1, "symbol": "IBM", "secType": "OPT", "right": "C", "strike": 90, "maturityDate": "20300315",
         "multiplier": "100", "validExchanges": "SMART,CBOE"},
        {"conid": 2, "symbol": "IBM", "secType": "OPT", "right": "C", "strike": 90, "maturityDate": "20300322"},
    ])

    strikes = client.secdef_strikes(8314, "OPT", "MAR30")
    infos = client.secdef_info(8314, "OPT", month="MAR30", exchange="SMART", strike=90.0, right="C")

    assert strikes.call[0] == 70.0 and len(strikes.put) == 7
    assert [i.maturity_date for i in infos] == ["20300315", "20300322"]
    assert infos[0].multiplier == 100.0 and infos[0].valid_exchanges == ["SMART", "CBOE"]
    assert gateway.requests("GET", "/iserver/secdef/info")[0].qs["strike"] == ["90"]


def test_secdef_info_of_a_stock_is_an_object_and_still_a_list(client, gateway):
    gateway.add("GET", "/iserver/secdef/info", sample="GET_iserver_secdef_info.json")

    (info,) = client.secdef_info(8314, "STK")

    assert isinstance(info, SecdefInfo) and info.conid == 8314 and info.listing_exchange == "NYSE"


def test_trsrv_stocks_and_futures(client, gateway):
    gateway.add("GET", "/trsrv/stocks", sample="GET_trsrv_stocks.json")
    gateway.add("GET", "/trsrv/futures", sample="GET_trsrv_futures.json")

    stocks = client.stocks_by_symbol(["IBM"])
    futures = client.futures_by_symbol("ES", exchange="CME")

    assert [c.conid for c in stocks["IBM"][0].contracts if c.is_us] == [8314]
    assert [f.expiration_date for f in futures["ES"]] == [20241220, 20251219]
    assert gateway.requests("GET", "/trsrv/futures")[0].qs == {"symbols": ["es"], "exchange": ["cme"]}


def test_trsrv_secdef_is_asked_200_conids_at_a_time(client, gateway):
    gateway.add("GET", "/trsrv/secdef", sample="GET_trsrv_secdef.json")

    contracts = client.secdef_by_conid(range(1, 451))

    sent = [len(r.qs["conids"][0].split(",")) for r in gateway.requests("GET", "/trsrv/secdef")]
    assert sent == [200, 200, 50]
    assert len(contracts) == 3 and contracts[0].multiplier == 1.0 and contracts[0].strike is None


def test_contract_info(client, gateway):
    gateway.add("GET", "/iserver/contract/685302909/info", sample="GET_iserver_contract_conid_info__opt-contract-info.json")

    info = client.contract_info(685302909)

    assert (info.conid, info.symbol, info.strike, info.right, info.maturity_date) == (
        685302909, "IBM", 187.5, "CALL", "20240315")


def test_currency_pairs(client, gateway):
    gateway.add("GET", "/iserver/currency/pairs", json_body={"EUR": [{"symbol": "EUR.USD", "conid": 12087792,
                                                                      "ccyPair": "USD"}]})

    pairs = client.currency_pairs("EUR")

    assert pairs["EUR"][0].conid == 12087792
