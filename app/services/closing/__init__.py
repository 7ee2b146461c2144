"""Closing a window at cut-off, once: unpaid orders cancelled, groups that failed refunded, the
rest confirmed, coded and batched."""
