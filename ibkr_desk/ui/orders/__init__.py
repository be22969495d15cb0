"""The Orders page's widgets, one job per module: ``ticket`` (the form) with ``contract`` (the lookup),
``preview`` (IBKR's what-if), ``submission`` (Submit, IBKR's questions, the outcome), ``book`` (live orders with
modify and cancel, trades), ``lookups`` (the cached reads they share), ``text`` (IBKR's texts as markdown).

The order logic they call is the library's: ``ibkr.orders.entry`` (a checked ticket), ``ibkr.orders.submission``
(one submission's states), ``ibkr.analytics.orders`` and ``ibkr.analytics.whatif`` (the figures).
"""
