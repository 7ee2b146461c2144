"""Sales reports: the ledger roll-up into daily summaries, the figures, customer counts, exports."""
