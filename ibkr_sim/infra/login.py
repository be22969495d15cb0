"""The gateway's browser login at ``/``: username and password, then a 2FA code, then "Client login succeeds".

The demo credentials and the 2FA code are shown on the page, since this is a simulator; a password an operator set
(not the demo's) is not.
"""

from __future__ import annotations

import html
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

DEMO_PASSWORD = "demo"
STYLE = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;background:#0e1117;color:#e6e6e6;
display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
.card{background:#161b22;border:1px solid #30363d;border-radius:10px;padding:28px 32px;width:360px}
h1{font-size:20px;margin:0 0 4px}.sub{color:#8b949e;font-size:13px;margin-bottom:18px}
label{display:block;font-size:13px;margin:12px 0 4px;color:#c9d1d9}
input{width:100%;box-sizing:border-box;padding:9px;border-radius:6px;border:1px solid #30363d;background:#0d1117;
color:#e6e6e6;font-size:15px}button{margin-top:18px;width:100%;padding:10px;border:0;border-radius:6px;
background:#d81222;color:white;font-size:15px;cursor:pointer}.err{color:#ff7b72;font-size:13px;margin-top:10px}
.demo{background:#1f2937;border-radius:6px;padding:8px 10px;font-size:13px;margin-top:14px;color:#9ca3af}
code{color:#f0f6fc}.ok{color:#3fb950;font-size:18px}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{STYLE}</style></head><body><div class='card'>{body}</div></body></html>")
    return HTMLResponse(doc, status_code=status)


def routes(sim) -> list[Route]:
    s = sim.session

    def login_form(error: str = "", status: int = 200) -> HTMLResponse:
        err = f"<div class='err' id='error'>{html.escape(error)}</div>" if error else ""
        return _page("IBKR Desk simulated gateway - log in", f"""
<h1>Client Portal Gateway</h1><div class='sub'>Simulated gateway (IBKR Desk). Paper trading.</div>
<form method='post' action='/sso/Login'>
<label for='user'>Username</label><input id='user' name='username' autocomplete='username' autofocus>
<label for='password'>Password</label><input id='password' name='password' type='password'>
<button id='submitForm' type='submit'>Login</button>{err}</form>
<div class='demo'>{credentials()}</div>""", status)

    def credentials() -> str:
        """The demo's own password is shown; one an operator set (IBKR_SIM_PASSWORD) never is."""
        if s.password == DEMO_PASSWORD:
            return f"Demo credentials: user <code>{html.escape(s.user)}</code>, password <code>{DEMO_PASSWORD}</code>"
        return f"User <code>{html.escape(s.user)}</code>, with the password set in IBKR_SIM_PASSWORD"

    def twofa_form(ticket: str, error: str = "", status: int = 200) -> HTMLResponse:
        err = f"<div class='err' id='error'>{html.escape(error)}</div>" if error else ""
        code = s.pending_2fa.get(ticket, "")
        return _page("Two-factor authentication", f"""
<h1>Two-factor authentication</h1><div class='sub'>Enter the code from IBKR Mobile (IB Key).</div>
<form method='post' action='/sso/2fa'><input type='hidden' name='ticket' value='{html.escape(ticket)}'>
<label for='code'>Security code</label><input id='code' name='code' inputmode='numeric' autofocus>
<button id='submit2fa' type='submit'>Verify</button>{err}</form>
<div class='demo'>Demo 2FA code: <code id='demo-code'>{code}</code></div>""", status)

    async def index(request: Request):
        s.expire_if_idle()
        if s.sso:
            return _page("Client login succeeds", "<div class='ok'>Client login succeeds</div>"
                         "<div class='sub'>The gateway holds the session. You can close this tab.</div>")
        return login_form()

    async def submit_login(request: Request):
        form = await request.form()
        if form.get("username") != s.user or form.get("password") != s.password:
            return login_form("Invalid username or password.", status=401)
        ticket = secrets.token_urlsafe(12)
        s.pending_2fa = {ticket: f"{secrets.randbelow(1_000_000):06d}"}
        return twofa_form(ticket)

    async def submit_2fa(request: Request):
        form = await request.form()
        ticket = str(form.get("ticket", ""))
        if ticket not in s.pending_2fa:
            return RedirectResponse("/", status_code=303)
        if str(form.get("code", "")).strip() != s.pending_2fa[ticket]:
            return twofa_form(ticket, "That code is not valid. Try again.", status=401)
        s.pending_2fa.clear()
        s.login()
        return _page("Client login succeeds", "<div class='ok'>Client login succeeds</div>"
                     "<div class='sub'>The gateway holds the session. You can close this tab.</div>")

    return [
        Route("/", index, methods=["GET"]),
        Route("/sso/Login", index, methods=["GET"]),
        Route("/sso/Login", submit_login, methods=["POST"]),
        Route("/sso/2fa", submit_2fa, methods=["POST"]),
    ]
