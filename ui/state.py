"""Session-state keys, in one place."""

ACCOUNT = "account"  # "All accounts" or an account id
PRIVACY = "privacy"  # mask amounts for screen sharing
REPORT_CCY = "report_currency"
ALL_ACCOUNTS = "All accounts"
