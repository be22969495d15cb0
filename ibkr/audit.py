"""Who may do what, and the audit trail of what everyone did: roles, the acting person, the append-only log.

A shared dashboard has three roles: a **viewer** reads (and may ask IBKR for a what-if preview, which changes
nothing), a **trader** also submits, modifies and cancels orders (within ``IBKR_TRADING_ENABLED``), an **admin**
also runs the gateway's actions (take over, re-authenticate, restart, log out) and reads the audit log. The check
is made where the action happens: the order register (:class:`ibkr.orders.submission.Submissions`) and
:func:`ibkr.gateway.perform` call :func:`require`, so a hidden button is not the only thing in the way.

The :class:`AuditLog` keeps every preview, submission, question (its id and text) and answer, IBKR's response,
cancel, modify, gateway action and refusal in the desk's SQLite database (:mod:`ibkr.db`), each with the person,
their role, the time, the account and the order. A row is committed and synced before the caller goes on (before
IBKR's answer is applied to what the page shows), and the table refuses UPDATE and DELETE by trigger: the app
never changes or removes an entry.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ibkr.db import Database
from ibkr.errors import AuditUnavailable, PermissionDenied

log = logging.getLogger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


class Permission(StrEnum):
    TRADE = "trade"  # submit, modify, cancel, answer IBKR's questions
    GATEWAY = "gateway"  # take over, re-authenticate, restart, log out
    AUDIT = "audit"  # read the audit log


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(),
    Role.TRADER: frozenset({Permission.TRADE}),
    Role.ADMIN: frozenset({Permission.TRADE, Permission.GATEWAY, Permission.AUDIT}),
}
"""What each role may do beyond reading. An admin trades too: a team of two is an admin and a viewer."""

WHY_NOT = {
    Permission.TRADE: "only a trader or an admin may send, modify or cancel orders",
    Permission.GATEWAY: "only an admin may run the gateway's actions",
    Permission.AUDIT: "only an admin may read the audit log",
}


@dataclass(frozen=True)
class Actor:
    """The person acting: their e-mail (or the OS user of a local single-user dashboard) and role."""

    user: str
    role: Role
    signed_in: bool = True  # False: a local single-user dashboard, no sign-in configured

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


def local_actor() -> Actor:
    """The one user of a dashboard without sign-in (or of the command line): the OS user, with every right."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local"
    return Actor(f"{user} (local)", Role.ADMIN, signed_in=False)


def role_for(email: str | None, claims: dict[str, Any] | None = None, *, admins: Sequence[str] = (),
             traders: Sequence[str] = (), claim: str | None = None) -> Role:
    """A signed-in person's role: from the OIDC ``claim`` when it is set and names a role (a string or a list;
    the highest wins), else from the e-mail lists; everyone else is a viewer."""
    if claim and claims is not None and claims.get(claim) is not None:
        value = claims[claim]
        named = {str(v).strip().lower() for v in (value if isinstance(value, list | tuple) else [value])}
        for role in (Role.ADMIN, Role.TRADER, Role.VIEWER):
            if role.value in named:
                return role
    address = (email or "").strip().lower()
    if address and address in {a.lower() for a in admins}:
        return Role.ADMIN
    if address and address in {t.lower() for t in traders}:
        return Role.TRADER
    return Role.VIEWER


SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    account TEXT,
    flow_id TEXT,
    "order" TEXT,
    outcome TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

REJECTED_OUTCOME = "rejected"
"""The outcome of an order request IBKR refused (``rejected: <IBKR's words>``): the notifier listens for it."""

COLUMNS = ("id", "at", "user", "role", "action", "account", "flow_id", "order", "outcome", "detail")


class AuditLog:
    """The append-only audit trail in the desk's database."""

    def __init__(self, path: Path | None = None, database: Database | None = None) -> None:
        self.db = database or Database.at(path)
        self.db.declare("audit", SCHEMA)
        self._listeners: list[Callable[[dict[str, Any]], Any]] = []

    def on_record(self, listener: Callable[[dict[str, Any]], Any]) -> None:
        """Call ``listener`` with each entry once it is written (``id``, ``action``, ``account``, ``order``,
        ``outcome``, ``detail`` as a dict...), on the writer's thread: the notifier hears of an order IBKR
        rejected at placement here. A listener that fails is logged; the entry stays written."""
        self._listeners.append(listener)

    def record(self, actor: Actor, action: str, *, account: str | None = None, flow_id: str | None = None,
               order: str | None = None, outcome: str | None = None, **detail: Any) -> int:
        """Write one entry, committed and synced when this returns (its id); :class:`AuditUnavailable` if not."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        try:
            entry_id = self.db.write(
                'INSERT INTO audit (at, user, role, action, account, flow_id, "order", outcome, detail) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (at, actor.user, actor.role.value, action, account, flow_id, order, outcome,
                 json.dumps(detail, default=str, sort_keys=True)))
        except Exception as exc:  # a full disk, a locked or broken file: the caller must not go on silently
            log.error("audit log %s not written: %s", self.db.path, exc)
            raise AuditUnavailable(f"the audit log could not be written ({exc}); nothing was done") from exc
        entry = {"id": entry_id, "at": at, "user": actor.user, "role": actor.role.value, "action": action,
                 "account": account, "flow_id": flow_id, "order": order, "outcome": outcome, "detail": detail}
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - what was done is recorded; a listener must not undo that
                log.exception("an audit listener failed on entry %s", entry_id)
        return entry_id

    def entries(self, *, user: str | None = None, action: str | None = None, account: str | None = None,
                since: dt.datetime | None = None, until: dt.datetime | None = None, text: str | None = None,
                limit: int = 5000) -> list[dict[str, Any]]:
        """Entries newest first, filtered (``text`` searches the order, outcome and detail)."""
        where, params = [], []
        for column, value in (("user", user), ("action", action), ("account", account)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(since.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
        if until is not None:
            where.append("at < ?")
            params.append(until.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
        if text:
            where.append('("order" LIKE ? OR outcome LIKE ? OR detail LIKE ?)')
            params.extend([f"%{text}%"] * 3)
        sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.read(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [dict(row) for row in rows]

    def distinct(self, column: str) -> list[str]:
        """The values of ``user``, ``action`` or ``account`` that occur, for the admin page's filters."""
        if column not in ("user", "action", "account"):
            raise ValueError(column)
        return [row[0] for row in self.db.read(f"SELECT DISTINCT {column} FROM audit WHERE {column} IS NOT NULL "
                                               f"ORDER BY {column}")]


def require(actor: Actor, permission: Permission, audit: AuditLog | None, what: str, *,
            account: str | None = None, order: str | None = None) -> None:
    """Raise :class:`PermissionDenied` (after auditing the refusal) unless ``actor`` may ``permission``."""
    if actor.may(permission):
        return
    message = f"{what} refused: {WHY_NOT[permission]}, and {actor.user} is a {actor.role.value}"
    if audit is not None:
        audit.record(actor, "refused", account=account, order=order, outcome=message, permission=permission.value)
    raise PermissionDenied(message)
