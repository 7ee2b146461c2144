"""Group-buy windows: their items and prices, schedule and opening, share links and posters, per-
leader quotas, closing-soon reminders."""
