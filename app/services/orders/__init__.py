"""Orders from placing to refund: reservations against stock and limits, payments and their
providers, refunds and the refund ledger, after-sales."""
