"""Session endpoints: tickle, auth status, brokerage session init, reauthenticate, logout, SSO validate."""

from __future__ import annotations

import time

from starlette.requests import Request

from ibkr_sim.infra.session import USER_ID
from ibkr_sim.routes.base import Endpoints, json_body

endpoints = Endpoints()


@endpoints.route("POST", "/tickle", access="sso")
async def tickle(sim, request: Request):
    s = sim.session
    status = s.auth_status(with_hardware=False)
    status.pop("fail")
    return {
        "session": s.token, "ssoExpires": s.sso_expires_ms(), "collission": False, "userId": USER_ID,
        "hmds": {"error": "no bridge"}, "iserver": {"authStatus": status},
    }


@endpoints.route("POST", "/iserver/auth/status", access="sso")
async def auth_status(sim, request: Request):
    return sim.session.auth_status()


@endpoints.route("GET", "/iserver/auth/status", access="sso")
async def auth_status_get(sim, request: Request):
    return sim.session.auth_status()


@endpoints.route("POST", "/iserver/auth/ssodh/init", access="sso")
async def ssodh_init(sim, request: Request):
    body = await json_body(request) or {}
    sim.session.init_brokerage(compete=bool(body.get("compete", False)))
    status = sim.session.auth_status(with_hardware=False)
    status.pop("fail") if not status["fail"] else None
    return status


@endpoints.route("POST", "/iserver/reauthenticate", access="sso")
async def reauthenticate(sim, request: Request):
    """Legacy (IBKR's Swagger 2.0 spec): reopens the brokerage session while SSO is valid and answers the
    authStatus object; it does not take over a competing session (ibeam #40)."""
    sim.session.init_brokerage(compete=False)
    return sim.session.auth_status(with_hardware=False)


@endpoints.route("POST", "/logout", access="sso")
async def logout(sim, request: Request):
    sim.session.end("logout")
    return {"status": True}


@endpoints.route("GET", "/sso/validate", access="sso")
async def sso_validate(sim, request: Request):
    s = sim.session
    return {
        "AUTH_TIME": s.auth_time_ms, "CREDENTIAL": s.user, "EXPIRES": s.sso_expires_ms(), "IP": "127.0.0.1",
        "IS_FREE_TRIAL": False, "IS_MASTER": False, "LANDING_APP": "UNIVERSAL", "LOGIN_TYPE": 2,
        "PAPER_USER_NAME": s.user, "QUALIFIED_FOR_MOBILE_AUTH": None, "RESULT": True, "SF_ENABLED": False,
        "USER_ID": USER_ID, "USER_NAME": s.user,
        "features": {"bond": True, "calendar": True, "env": "PROD", "newMf": True, "optionChains": True,
                     "realtime": True, "wlms": True},
        "lastAccessed": int(time.time() * 1000), "region": "NJ",
    }
