"""The websocket's messages as IBKR's gateway writes them (IBKR Campus, Client Portal Web API v1, "Websockets";
docs/cpapi.md section 5.3), built from the same world and views as the REST answers.

Server to client, one JSON object a frame:

- ``{"topic": "system", "success": "<user>", "isFT": false, "isPaper": true}`` once a socket is authenticated,
  then ``{"topic": "system", "hb": <epoch ms>}`` every ``heartbeat_seconds`` (IBKR: 10 s);
- ``{"topic": "act", "args": {"accounts": [...], "selectedAccount": ..., ...}}`` on connect;
- ``{"topic": "sts", "args": {"authenticated": ..., "competing": ..., "message": "", "fail": "", "serverName":
  ..., "serverVersion": ..., "username": ...}}`` on connect and whenever the session changes;
- ``{"topic": "spl", "args": {"<acct>.Core": {"rowType": 1, "dpl", "nl", "upl", "el", "uel", "mv"}}}``: the
  rows of ``/iserver/account/pnl/partitioned`` (numbers), only the accounts whose row changed;
- ``{"topic": "sor", "args": [order, ...]}``: orders as ``/iserver/account/orders`` serves them, those that
  changed;
- ``{"topic": "str", "args": [execution, ...]}``: executions as ``/iserver/account/trades`` serves them;
- ``{"topic": "smd+<conid>", "conid", "conidEx", "_updated", "server_id", "6119", "6509", <code>: "<string>"}``:
  the snapshot's field codes and formatted strings, only the fields that changed since the last message;
- ``{"topic": "tic", "alive": true, "lastAccessed": <epoch ms>, ...}``: the answer to the client's ``tic``;
- ``{"message": "waiting for session"}`` to a socket opened without a valid ``api`` cookie.
"""

from __future__ import annotations

import time
from typing import Any

from ibkr_sim.infra.session import SERVER_INFO, USER_ID
from ibkr_sim.routes.marketdata import AVAILABILITY
from ibkr_sim.routes.order_views import live_order, trade
from ibkr_sim.world.orders import Order
from ibkr_sim.world.world import Fill

WAITING = {"message": "waiting for session"}


def now_ms() -> int:
    return int(time.time() * 1000)


def system_success(sim) -> dict[str, Any]:
    return {"topic": "system", "success": sim.session.user, "isFT": False, "isPaper": True}


def heartbeat() -> dict[str, Any]:
    return {"topic": "system", "hb": now_ms()}


def account_update(sim) -> dict[str, Any]:
    accounts = sim.account_ids()
    selected = sim.session.selected_account if sim.session.selected_account in accounts else accounts[0]
    return {"topic": "act", "args": {
        "accounts": accounts, "acctProps": {a: {"hasChildAccounts": False, "supportsCashQty": True,
                                                "supportsFractions": False} for a in accounts},
        "aliases": {a: a for a in accounts}, "selectedAccount": selected, "serverInfo": dict(SERVER_INFO),
        "isFT": False, "isPaper": True}}


def status_args(sim) -> dict[str, Any]:
    """What ``sts`` says of the session: the fields of ``/iserver/auth/status`` a client acts on."""
    s = sim.session
    return {"authenticated": s.authenticated, "competing": s.competing, "connected": s.connected, "message": "",
            "fail": s.fail, "serverName": SERVER_INFO["serverName"], "serverVersion": SERVER_INFO["serverVersion"],
            "username": s.user}


def status(args: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "sts", "args": args}


def pnl(rows: dict[str, dict]) -> dict[str, Any]:
    return {"topic": "spl", "args": rows}


def orders(sim, changed: list[Order]) -> dict[str, Any]:
    return {"topic": "sor", "args": [live_order(sim, o) for o in changed]}


def trades(sim, fills: list[Fill]) -> dict[str, Any]:
    return {"topic": "str", "args": [trade(sim, f) for f in fills]}


def tic_answer(sim) -> dict[str, Any]:
    return {"topic": "tic", "alive": True, "id": f"{USER_ID}", "lastAccessed": now_ms(),
            "authenticated": sim.session.authenticated}


def market_data(conid: int, conid_ex: str, server_id: str, changed: dict[str, str]) -> dict[str, Any]:
    return {"server_id": server_id, "conidEx": conid_ex, "conid": conid, "_updated": now_ms(), "6119": server_id,
            **changed, "6509": AVAILABILITY, "topic": f"smd+{conid}"}
