"""Delivery batches: picking, dispatch, arrival with shortages, and their documents and labels."""
