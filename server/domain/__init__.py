"""The shop's rules and state: catalog, stock, orders, refunds, the webhook outbox, analytics,
short links, API keys and merchant logins. Functions here take a session (or a session
factory) and plain values; they know nothing of HTTP, the command line or templates."""
