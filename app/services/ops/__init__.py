"""Running the deployment: job leases, backups, health, the demo data."""
