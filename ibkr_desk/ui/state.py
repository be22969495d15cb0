"""Session-state keys, in one place."""

ACCOUNT = "account"  # "All accounts" or an account id
PRIVACY = "privacy"  # mask amounts for screen sharing
REPORT_CCY = "report_currency"
ALL_ACCOUNTS = "All accounts"

# the Orders page's widgets and submissions
ORDER_ACCOUNT, ASSET_CLASS, SIDE, QUANTITY, ORDER_TYPE = "order_account", "order_asset_class", "order_side", \
    "order_quantity", "order_type"
LIMIT, STOP, TRAIL, TRAIL_TYPE, TIF, OUTSIDE_RTH = "order_limit", "order_stop", "order_trail", "order_trail_type", \
    "order_tif", "order_outside_rth"
PRICED_FOR = "order_priced_for"  # the conid whose last price filled the limit price
TIF_FOR = "order_tif_for"  # the asset class the time in force was chosen for
PREVIEW = "order_preview"  # (fingerprint, WhatIf | error text)
NEW_FLOW = "order_flow"  # the submission of the ticket (an ibkr.orders.submission.OrderFlow)
BOOK_FLOW = "order_book_flow"  # a modify or cancel from the live orders
BOOK_SEQ = "order_book_seq"  # bumped by each action, so a second click on the same button finds no button
