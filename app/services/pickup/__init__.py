"""The counter: pickup points and staff, codes, lookup and the code-entry lock, redemption (whole,
partial, undone), shelf slots, offline manifests and sync, uncollected bags."""
