"""Users, merchants and their teams, leaders; sign-ins and API tokens."""
