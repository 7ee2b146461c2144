"""Notifications: the outbox and its delivery, preferences, texts, group-chat robots, webhooks, Web
Push and email."""
