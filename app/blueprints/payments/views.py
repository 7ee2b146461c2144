from app.blueprints.payments import bp  # noqa: F401
