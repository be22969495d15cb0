"""``current_positions`` (portfolio2 + /trsrv/secdef) against the paged read, at 3 x 5,000 positions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ibkr import analytics
from tests.integration.client_support import client_for, requests_to


@pytest.fixture(scope="module")
def huge(start_sim):
    handle = start_sim("--auto-login", "--positions", "5000", "--no-pacing")
    yield handle
    handle.close()


def same(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-6)
    return a == b


def test_portfolio2_with_secdef_equals_the_paged_read_field_for_field_at_a_fraction_of_the_calls(huge):
    with client_for(huge) as client:
        accounts = [a.account_id for a in client.position_accounts()]
        before = huge.stats()["requests"]
        paged = client.all_positions(accounts)
        middle = huge.stats()["requests"]
        current = client.current_positions(accounts)
        after = huge.stats()["requests"]
        client.current_positions(accounts)
        last = huge.stats()["requests"]
        ledgers = {a: client.ledger(a) for a in accounts}
        bases = {a.account_id: a.currency for a in client.position_accounts()}

    def calls(x, y):
        return sum(y.values()) - sum(x.values())

    assert len(paged) == len(current) == 15_000
    left = analytics.positions_frame(paged, ledgers, bases).set_index(["account", "conid"]).sort_index()
    right = analytics.positions_frame(current, ledgers, bases).set_index(["account", "conid"]).sort_index()
    assert list(left.index) == list(right.index)
    differ = {c: int((~left[c].combine(right[c], same)).sum()) for c in left.columns if c != "as_of"}
    examples = {c: list(left[c][~left[c].combine(right[c], same)].head(3)) for c, n in differ.items() if n}
    assert examples == {}, differ
    assert calls(before, middle) >= 150 and calls(middle, after) <= 3 + math.ceil(15_000 / 200)
    assert calls(after, last) == 3, "the definitions are kept: a refresh is one call per account"
    assert requests_to(huge, "GET /trsrv/secdef") >= 1
