"""What every endpoint group shares: the transport, and turning JSON into models (or InvalidResponse)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ibkr._http_errors import redact
from ibkr.config import Settings
from ibkr.errors import InvalidResponse
from ibkr.models import IserverAccounts
from ibkr.sessions import brokerage_session
from ibkr.transport import Transport

log = logging.getLogger(__name__)

T = TypeVar("T")

DOCS = "https://www.interactivebrokers.com/campus/ibkr-api-page/webapi-ref/"
"""IBKR's Web API reference; each method's docstring names its endpoint and the reference section."""
GUIDE = "https://www.interactivebrokers.com/campus/ibkr-api-page/webapi-doc/"
"""IBKR's Web API guide (sessions, pacing, orders, market data)."""


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:  # kind: a model class or a type such as list[Position]
    return TypeAdapter(kind)


def parse_as(kind: type[T], data: Any, endpoint: str) -> T:
    """Validate ``data`` as ``kind`` (a model or a type such as ``list[Position]``) or raise InvalidResponse."""
    try:
        adapter: TypeAdapter[T] = _adapter(kind)  # type: ignore[arg-type]  # every kind is hashable
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidResponse(
            f"The gateway's answer to {endpoint} has an unexpected shape ({where}: {first['msg']}).",
            endpoint=endpoint, body=redact(data),
        ) from exc


class EndpointGroup:
    """Base of the endpoint mixins composed into :class:`ibkr.client.ClientPortalClient`."""

    settings: Settings
    _transport: Transport
    _sleep: Callable[[float], None] = staticmethod(time.sleep)
    _iserver_accounts: IserverAccounts | None = None
    _accounts_lock: threading.Lock  # one /iserver/accounts read at a time (tradable_account_ids)
    _session_marks: dict[Hashable, int] | None = None  # what was done once, and in which brokerage session

    def _get(self, kind: type[T], path: str, params: dict[str, Any] | None = None) -> T:
        return parse_as(kind, self._transport.get(path, params=_clean(params)), f"GET {path}")

    def _post(self, kind: type[T], path: str, json: Any = None, *, idempotent: bool) -> T:
        return parse_as(kind, self._transport.post(path, json=json, idempotent=idempotent), f"POST {path}")

    def _done_in_session(self, key: Hashable) -> bool:
        """Whether ``key`` (a warm-up, a quote) was done in the gateway's current brokerage session, counted
        process-wide (:mod:`ibkr.sessions`): a keeper's re-login or the nightly reset starts every key over."""
        marks = self._session_marks
        return marks is not None and marks.get(key) == brokerage_session(self.settings.gateway_url)

    def _mark_done_in_session(self, key: Hashable) -> None:
        if self._session_marks is None:
            self._session_marks = {}
        self._session_marks[key] = brokerage_session(self.settings.gateway_url)

    def _warm_get(self, kind: type[T], path: str, params: dict[str, Any], empty: Callable[[T], bool]) -> T:
        """GET a read that IBKR answers empty on its first call of a brokerage session (live orders, trades):
        an empty first answer in this session is asked once more. Tracked per session and endpoint, as it was
        measured live (the first call of a fresh session); a second empty ask per account would cost 5.5 s of
        IBKR's pacing each."""
        result = self._get(kind, path, params)
        if empty(result) and not self._done_in_session(("warm", path)):
            log.debug("%s empty on its first call of the brokerage session; asking again", path)
            result = self._get(kind, path, params)
        self._mark_done_in_session(("warm", path))
        return result

    def _forget_warm(self, path: str) -> None:
        if self._session_marks:
            self._session_marks.pop(("warm", path), None)

    def _after_reauthentication(self) -> None:
        """Forget session-bound state; the next /iserver call re-primes with /iserver/accounts."""
        self._iserver_accounts = None
        self._session_marks = None


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop None values; booleans as IBKR writes them (``true``/``false``)."""
    if params is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}


def csv(values: Any) -> str:
    """``[265598, 8314]`` -> ``"265598,8314"``; a string passes through."""
    if isinstance(values, str | int):
        return str(values)
    return ",".join(str(v) for v in values)


def ibkr_endpoint(method: str, path: str, tag: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Mark a client method with the IBKR endpoint it calls and append the link to IBKR's reference.

    ``tag`` is the section of IBKR's reference ("Trading Session", "Trading Portfolio", ...).
    """
    anchor = f"#tag/{tag.replace(' ', '-')}/paths/{path.replace('/', '~1')}/{method.lower()}"

    def mark(fn: Callable[..., T]) -> Callable[..., T]:
        fn.__doc__ = (fn.__doc__ or "").rstrip() + f"\n\n        IBKR: ``{method} {path}`` ({tag}), {DOCS}{anchor}\n"
        fn.ibkr_endpoint = (method, path)  # type: ignore[attr-defined]
        return fn

    return mark
