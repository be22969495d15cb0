"""The simulator's websocket (/v1/api/ws) as IBKR serves it: the session cookie, the greeting, heartbeats and
tic, each topic against what REST answers for the same world, the 10-minute smd end (shortened), sts on session
changes, and pnl/partitioned waiting for spl."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.stream_support import (
    connected,
    open_socket,
    place_market_order,
    read_until,
    session_token,
    topic,
    wait_for,
)

AAPL = 265598
MD_SECONDS = 2.0


@pytest.fixture(scope="module")
def sim(start_sim):
    handle = start_sim("--auto-login", "--no-pacing", "--heartbeat-seconds", "0.5", "--md-stream-seconds",
                       str(MD_SECONDS), "--no-pnl-needs-spl")  # REST's pnl/partitioned answers without a socket
    handle.prime()
    yield handle
    handle.close()


def first_account(sim) -> str:
    return sim.state()["accounts"][0]["id"]


def closed_code(socket) -> int | None:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            socket.recv(timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_socket_without_the_session_cookie_is_told_to_wait_and_closed(sim):
    with open_socket(sim, cookie=None) as socket:
        assert json.loads(socket.recv(timeout=10)) == {"message": "waiting for session"}
        assert closed_code(socket) == 1008
    with open_socket(sim, cookie="0" * 32) as socket:  # a token the gateway never issued
        assert json.loads(socket.recv(timeout=10)) == {"message": "waiting for session"}
        socket.send(json.dumps({"session": "0" * 32}))
        assert closed_code(socket) == 1008
    assert sim.stats()["ws"]["refused"] >= 2


def test_the_session_cookie_opens_the_stream_with_the_user_and_the_session_status(sim):
    for cookie in (session_token(sim), json.dumps({"session": session_token(sim)})):  # IBKR's form, ibind's form
        with open_socket(sim, cookie=cookie) as socket:
            greeting = connected(socket)
            system = next(m for m in greeting if m.get("topic") == "system")
            status = greeting[-1]["args"]
            assert system["success"] == "demo"
            assert status["authenticated"] is True and status["competing"] is False


def test_heartbeats_come_on_their_period_and_tic_is_answered(sim):
    with open_socket(sim) as socket:
        connected(socket)
        beat = read_until(socket, lambda m: m.get("topic") == "system" and "hb" in m)
        assert isinstance(beat["hb"], int) and beat["hb"] > 1_600_000_000_000  # epoch milliseconds
        socket.send("tic")
        answer = read_until(socket, topic("tic"))
        assert answer["alive"] is True and answer["lastAccessed"] >= beat["hb"]


def test_spl_sends_the_rows_pnl_partitioned_serves(sim):
    sim.api("GET", "/iserver/account/pnl/partitioned")  # IBKR's first call of a session answers {}
    rest = sim.api("GET", "/iserver/account/pnl/partitioned").json()["upnl"]
    with open_socket(sim) as socket:
        connected(socket)
        socket.send("spl+{}")
        rows = read_until(socket, topic("spl"))["args"]
    assert set(rows) == set(rest) and len(rows) == len(sim.state()["accounts"])
    for key, row in rest.items():
        assert {k: rows[key][k] for k in row} == row  # same numbers, same names (plus uel)
        assert rows[key]["uel"] == row["el"]


def test_smd_sends_the_snapshots_field_codes_as_strings(sim):
    fields = ["31", "84", "86", "7295", "55"]
    query = {"conids": str(AAPL), "fields": ",".join(fields)}
    sim.api("GET", "/iserver/marketdata/snapshot", params=query)  # preflight
    snapshot = sim.api("GET", "/iserver/marketdata/snapshot", params=query).json()[0]
    with open_socket(sim) as socket:
        connected(socket)
        socket.send(f"smd+{AAPL}+" + json.dumps({"fields": fields}))
        update = read_until(socket, topic("smd"))
    assert update["topic"] == f"smd+{AAPL}" and update["conid"] == AAPL
    assert {f: update[f] for f in fields} == {f: snapshot[f] for f in fields}
    assert all(isinstance(update[f], str) for f in fields)


def test_smd_ends_unless_renewed_and_umd_stops_it(sim):
    msft, ibm = 272093, 8314
    with open_socket(sim) as socket:
        connected(socket)
        socket.send(f'smd+{ibm}+{{"fields":["31","88"]}}')
        socket.send(f'smd+{msft}+{{"fields":["31","88"]}}')
        read_until(socket, lambda m: m.get("topic") == f"smd+{msft}")
        socket.send(f"umd+{msft}+{{}}")
        expired = sim.stats()["ws"].get("smd_expired", 0)
        assert wait_for(lambda: sim.stats()["ws"].get("smd_expired", 0) > expired, timeout=MD_SECONDS + 10)
        socket.send(f'smd+{AAPL}+{{"fields":["31","88"]}}')  # a line that is still streaming
        read_until(socket, lambda m: m.get("topic") == f"smd+{AAPL}")
        sim.admin("POST", "clock", json={"ticks": 20})  # prices and book sizes move
        socket.send("tic")  # what is due goes out before the answer
        seen: list[dict] = []
        read_until(socket, topic("tic"), seen=seen)
    topics = {m.get("topic") for m in seen}
    assert f"smd+{AAPL}" in topics
    assert f"smd+{ibm}" not in topics and f"smd+{msft}" not in topics


def test_a_fill_through_rest_arrives_on_sor_str_and_spl_and_is_in_the_portfolio(sim):
    account = first_account(sim)
    with open_socket(sim) as socket:
        connected(socket)
        for frame in ("spl+{}", "sor+{}", 'str+{"realtimeUpdatesOnly":true}'):
            socket.send(frame)
        before = read_until(socket, topic("spl"))["args"][f"{account}.Core"]
        held = sim.state()["accounts"][0]["positions"]
        held_before = next((p["position"] for p in held if p["conid"] == AAPL), 0.0)
        order_id = place_market_order(sim, account, AAPL, "BUY", 10)
        seen: list[dict] = []

        def filled(m: dict) -> bool:
            return topic("sor")(m) and any(o["orderId"] == order_id and o["status"] == "Filled" for o in m["args"])

        def executed(m: dict) -> bool:
            return topic("str")(m) and any(t["order_id"] == order_id for t in m["args"])

        def valued(m: dict) -> bool:
            return topic("spl")(m) and f"{account}.Core" in m["args"]

        read_until(socket, lambda _: all(any(check(m) for m in seen) for check in (filled, executed, valued)),
                   seen=seen)
        order = next(m for m in seen if filled(m))
        fill = next(m for m in seen if executed(m))["args"][0]
        after = next(m for m in seen if valued(m))
    assert next(o for o in order["args"] if o["orderId"] == order_id)["filledQuantity"] == 10.0
    assert (fill["order_id"], fill["conid"], fill["size"], fill["side"]) == (order_id, AAPL, 10.0, "B")
    assert after["args"][f"{account}.Core"]["mv"] != before["mv"]  # the account's position value changed
    truth = next(p for p in sim.state()["accounts"][0]["positions"] if p["conid"] == AAPL)
    assert truth["position"] == held_before + 10
    rest = sim.api("GET", f"/portfolio/{account}/position/{AAPL}").json()
    assert rest[0]["position"] == held_before + 10
    live = sim.api("GET", "/iserver/account/trades", params={"accountId": account}).json()
    assert any(t["execution_id"] == fill["execution_id"] for t in live) or live == []  # first call may be empty


def test_sts_tells_of_a_competing_session_and_a_logout_ends_the_stream(own_sim):
    with open_socket(own_sim) as socket:
        connected(socket)
        own_sim.session_action("compete")
        competing = read_until(socket, topic("sts"))["args"]
        assert competing["competing"] is True and competing["authenticated"] is False
        own_sim.api("POST", "/iserver/auth/ssodh/init", json={"compete": True})
        assert read_until(socket, topic("sts"))["args"]["authenticated"] is True
        own_sim.session_action("logout")
        assert read_until(socket, topic("sts"))["args"]["authenticated"] is False
        assert closed_code(socket) == 1000


def test_a_token_from_before_a_new_login_is_refused(own_sim):
    old = session_token(own_sim)
    own_sim.session_action("login")
    with open_socket(own_sim, cookie=old) as socket:
        assert json.loads(socket.recv(timeout=10)) == {"message": "waiting for session"}
        assert closed_code(socket) == 1008


def test_pnl_partitioned_stays_empty_until_spl_is_subscribed_when_the_gateway_needs_it(start_sim):
    sim = start_sim("--auto-login", "--no-pacing", "--pnl-needs-spl")
    try:
        sim.prime()
        for _ in range(2):
            assert sim.api("GET", "/iserver/account/pnl/partitioned").json() == {"upnl": {}}
        with open_socket(sim) as socket:
            connected(socket)
            socket.send("spl+{}")
            read_until(socket, topic("spl"))
        rows = sim.api("GET", "/iserver/account/pnl/partitioned").json()["upnl"]
        assert len(rows) == len(sim.state()["accounts"])
    finally:
        sim.close()


def test_sim_stats_count_the_sockets_messages(sim):
    before = sim.stats()["ws"]
    with open_socket(sim) as socket:
        connected(socket)
        socket.send("tic")
        read_until(socket, topic("tic"))
    after = sim.stats()["ws"]
    assert after["connections"] == before["connections"] + 1
    assert after["sent"]["tic"] == before["sent"].get("tic", 0) + 1
    assert after["received"]["tic"] == before["received"].get("tic", 0) + 1
    assert after["sent_total"] >= before["sent_total"] + 4  # system, act, sts, tic
