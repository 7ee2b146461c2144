from app.blueprints.shop import bp  # noqa: F401
