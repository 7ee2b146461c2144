"""Settings from the environment. Defaults give a working embedded set-up under instance/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.engine import engine_options


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance: Path, name: str) -> str:
    """Read a secret kept under instance/, generating it on first use."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL so two processes starting at once agree on one secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment and explicit overrides."""
    overrides = dict(overrides or {})
    env = os.environ
    instance = Path(instance_path)
    db_url = (
        overrides.pop("DATABASE_URL", None) or env.get("DATABASE_URL") or (f"sqlite:///{instance / 'groupbuy.sqlite3'}")
    )
    redis_url = overrides.pop("REDIS_URL", None) or env.get("REDIS_URL", "")
    secret = overrides.pop("SECRET_KEY", None) or env.get("SECRET_KEY") or _instance_secret(instance, "secret_key")
    config = {
        **_ground(env, db_url, secret),
        **_scheduler_and_health(env),
        **_web_and_limits(env, redis_url),
        **_locale_payments_and_files(env, secret, instance_path),
        **_channels(env),
        **_rules(env),
    }
    config.update(overrides)
    return config


def _ground(env, db_url: str, secret: str) -> dict:
    """The secret, the database, the time zone and the logs."""
    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(db_url),
        "TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        # Level of the app's own log lines on stderr ("" leaves logging to the host program).
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # "json": one JSON object per line (time, level, logger, message, request id, endpoint).
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),
    }


def _scheduler_and_health(env) -> dict:
    """The scheduler, job leases, and what /readyz and /metrics check and show."""
    interval_s = int(env.get("SCHEDULER_INTERVAL_SECONDS", "15"))
    lease_s = int(env.get("JOB_LEASE_SECONDS", "120"))
    return {
        "SCHEDULER_ENABLED": _bool(env.get("SCHEDULER_ENABLED"), False),
        "SCHEDULER_INTERVAL_SECONDS": interval_s,
        # How long a scheduler's claim on a job holds without renewal (it renews a third of the
        # way through); a process that died holding a job frees it after this long.
        "JOB_LEASE_SECONDS": lease_s,
        # /readyz: a job that no scheduler has run (or held) for this long means none is running.
        # Well above the interval and a lease, so a long close or a scheduler restart is no alarm.
        "READY_SCHEDULER_STALE_SECONDS": int(
            env.get("READY_SCHEDULER_STALE_SECONDS") or max(600, 3 * interval_s + lease_s)
        ),
        # /readyz: a notification due this long and still not sent means delivery is not keeping up.
        "READY_OUTBOX_MAX_AGE_SECONDS": int(env.get("READY_OUTBOX_MAX_AGE_SECONDS", "600")),
        # /metrics: off with 0; else only for these addresses (direct, not through a proxy) or
        # with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 404.
        "METRICS_ENABLED": _bool(env.get("METRICS_ENABLED"), True),
        "METRICS_ALLOWED_ADDRESSES": env.get("METRICS_ALLOWED_ADDRESSES", "127.0.0.0/8,::1"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
    }


def _web_and_limits(env, redis_url: str) -> dict:
    """Cookies, CSRF, proxies and rate limits."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "WTF_CSRF_TIME_LIMIT": None,
        # Shared state across workers and hosts: with REDIS_URL set, rate limits count there, so
        # ten tries at one host and ten at another are twenty, not ten each.
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "groupbuy"),
        # Redis down: count in memory per process meanwhile rather than fail every limited request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # Proxies in front of the app that append to X-Forwarded-For (nginx alone: 1). With 0 the
        # client address is the socket's, so behind a proxy every customer would share one rate
        # limit; more than the real number would let clients forge their address.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Wrong passwords per client address, and per account from any number of addresses
        # (browsers where the account logged in before are exempt from the second: see
        # app/blueprints/auth/limits.py). Successful logins count against neither.
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 10 minutes"),
        "CODE_ENTRY_RATE_LIMIT": env.get("CODE_ENTRY_RATE_LIMIT", "10 per 5 minutes"),
        "ORDER_RATE_LIMIT": env.get("ORDER_RATE_LIMIT", "30 per minute"),
    }


def _locale_payments_and_files(env, secret: str, instance_path: str) -> dict:
    """Language, payment providers, public address, upload size and SQLite."""
    return {
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "zh"),
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "PAYMENT_PROVIDERS": env.get("PAYMENT_PROVIDERS", "simulator,offline").split(","),
        "PAYMENT_WEBHOOK_SECRET": env.get("PAYMENT_WEBHOOK_SECRET") or secret,
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "PICKUP_LABELS_DIR": env.get("PICKUP_LABELS_DIR", str(Path(instance_path).parent / "pickup_labels")),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "30000")),
        "SQLITE_IMMEDIATE_WRITES": _bool(env.get("SQLITE_IMMEDIATE_WRITES"), True),
        # WAL checkpoints from a thread, not inside the commit of whichever request crosses the
        # threshold (app/engine_checkpoints.py).
        "SQLITE_BACKGROUND_CHECKPOINTS": _bool(env.get("SQLITE_BACKGROUND_CHECKPOINTS"), True),
    }


def _channels(env) -> dict:
    """Webhooks, email and Web Push."""
    return {
        # Robots and webhooks may only be called on public https addresses unless this is set
        # (a closed network, or the tests' loopback receivers): see services/notify/channels.py.
        "WEBHOOK_ALLOW_PRIVATE": _bool(env.get("WEBHOOK_ALLOW_PRIVATE"), False),
        # Optional email channel: the operator's SMTP server (no SMTP_HOST: no email channel).
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT", "587")),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), True),
        "MAIL_FROM": env.get("MAIL_FROM", "GroupBuy <noreply@localhost>"),
        # Web Push (VAPID): who push services may contact about this server's messages.
        "VAPID_SUBJECT": env.get("VAPID_SUBJECT", "mailto:admin@localhost"),
    }


def _rules(env) -> dict:
    """The business rules operators may tune: reminders, after-sales, uploads, the counter."""
    return {
        # Leaders are told a window closes soon this long before its cut-off (once per window).
        "WINDOW_CLOSING_SOON_MINUTES": int(env.get("WINDOW_CLOSING_SOON_MINUTES", "30")),
        # After-sales requests may be opened this many days after pickup (or arrival).
        "AFTER_SALES_DAYS": int(env.get("AFTER_SALES_DAYS", "7")),
        # Largest photo upload; those endpoints alone accept a body this big (see app/__init__).
        "PHOTO_MAX_BYTES": int(env.get("PHOTO_MAX_BYTES", str(5 * 1024 * 1024))),
        # Largest catalogue import (.xlsx); 5,000 rows fit in well under 1 MiB.
        "IMPORT_MAX_BYTES": int(env.get("IMPORT_MAX_BYTES", str(4 * 1024 * 1024))),
        "REDEEM_UNDO_MINUTES": int(env.get("REDEEM_UNDO_MINUTES", "10")),
        "CODE_LOCK_FAILURES": int(env.get("CODE_LOCK_FAILURES", "5")),
        "CODE_LOCK_WINDOW_MINUTES": int(env.get("CODE_LOCK_WINDOW_MINUTES", "10")),
        "CODE_LOCK_MINUTES": int(env.get("CODE_LOCK_MINUTES", "10")),
        # Wrong codes at one pickup point (or one counter device) that lock it for everyone, each
        # person counting for at most CODE_LOCK_FAILURES: one person alone never closes a counter.
        "CODE_LOCK_POINT_FAILURES": int(env.get("CODE_LOCK_POINT_FAILURES", "10")),
        # How long a preview's redeem_token proves the code for the confirm that follows it.
        "REDEEM_TOKEN_MINUTES": int(env.get("REDEEM_TOKEN_MINUTES", "10")),
        "OVERDUE_DAYS": int(env.get("OVERDUE_DAYS", "2")),
    }
