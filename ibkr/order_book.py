"""Live orders and trades of every account, read by one background thread per kind for the whole process.

IBKR answers ``/iserver/account/orders`` and ``/iserver/account/trades`` for the *selected* account when no
``accountId`` is given (docs/cpapi.md section 3.3), so each account is read on its own, and IBKR allows one such
call per 5 s: three accounts take 11 s a round, an advisor's 250 much longer. Page fragments must not wait for
that, so a :class:`~ibkr.refresher.Refresher` reads round after round and viewers show what it holds, each
account with the time it was read. An account whose read fails keeps its last good answer with the reason; a
429 ends the round and keeps everything (the refresher waits out IBKR's penalty). No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ibkr.errors import IbkrError, RateLimited
from ibkr.refresher import Refresher

T = TypeVar("T")


@dataclass(frozen=True)
class AccountRead(Generic[T]):
    """One account's live orders or trades: the last good answer, when it was read, why a newer one is missing."""

    items: list[T] = field(default_factory=list)
    as_of: dt.datetime | None = None  # None: never read
    error: str | None = None  # the last read's failure (None after a good read)


Book = dict[str, AccountRead]


def book_loader(read: Callable[[str], list[T]], accounts: Callable[[], Sequence[str]],
                previous: Callable[[], Book | None], go_on: Callable[[], bool] = lambda: True) -> Callable[[], Book]:
    """A load for :class:`Refresher`: ``read(account)`` for each of ``accounts()``, merged with the previous
    round's answers so a failing account keeps what it had. A 429 is raised (the refresher backs off). Before
    each account ``go_on()`` is asked: when it says no (IBKR waits for an order's answer), the round ends and
    the accounts not read keep their previous answers."""

    def load() -> Book:
        before = previous() or {}
        out: Book = dict(before)
        for account in accounts():
            if not go_on():
                break
            try:
                items = read(account)
            except RateLimited:
                raise
            except IbkrError as exc:
                old = before.get(account, AccountRead())
                out[account] = AccountRead(old.items, old.as_of, exc.message)
                continue
            out[account] = AccountRead(list(items), dt.datetime.now(dt.UTC))
        return out

    return load


def book_refresher(read: Callable[[str], list[T]], accounts: Callable[[], Sequence[str]], interval: float, *,
                   ready: Callable[[], bool], name: str) -> Refresher[Book]:
    """A refresher that keeps :data:`Book` of every account fresh (started by the caller)."""
    holder: list[Refresher[Book]] = []
    load = book_loader(read, accounts, lambda: holder[0].status().value if holder else None,
                       lambda: not (holder and holder[0].stopping) and ready())
    refresher = Refresher(load, interval, ready=ready, headroom=1.0, name=name)
    holder.append(refresher)
    return refresher
