"""HTTP layer: thin views over the services."""
