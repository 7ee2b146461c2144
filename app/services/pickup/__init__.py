"""Pickup points with their staff, and the pickup codes of their bags: issued, signed, voided."""
