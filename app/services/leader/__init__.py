"""What a leader reads: today, orders, customers, exceptions, the pickup overview."""
