"""Money, dates and relative times follow the reader's locale and the deployment's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from app.jinja import local_datetime, local_yuan, relative_time

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("locale", "fen", "shown"),
    [("zh", 1230, "¥12.30"), ("en", 1230, "CN¥12.30"), ("zh", -5, "-¥0.05"), ("en", 123456789, "CN¥1,234,567.89")],
)
def test_money_is_written_as_the_locale_writes_renminbi_without_float_rounding(app, locale, fen, shown):
    with app.test_request_context(), force_locale(locale):
        assert local_yuan(fen) == shown
        assert local_yuan(None) == ""


def test_dates_are_shown_in_the_deployment_zone_in_each_locales_words(app):
    instant = datetime(2026, 12, 1, 17, 5, tzinfo=UTC)  # 01:05 the next day in Asia/Shanghai
    app.config["TIMEZONE"] = "Asia/Shanghai"
    with app.test_request_context():
        with force_locale("zh"):
            assert local_datetime(instant) == "2026年12月2日 01:05"
            assert local_datetime(instant, "MMMd") == "12月2日 01:05"
            assert local_datetime(instant, "date") == "2026年12月2日"
        with force_locale("en"):
            assert local_datetime(instant) == "Dec 2, 2026 01:05"
    app.config["TIMEZONE"] = "UTC"
    with app.test_request_context(), force_locale("en"):
        assert local_datetime(instant) == "Dec 1, 2026 17:05"


def test_relative_times_read_naturally_in_both_languages(app, frozen_clock):
    with app.test_request_context():
        with force_locale("zh"):
            assert relative_time(frozen_clock.now - timedelta(hours=3)) == "3小时前"
        with force_locale("en"):
            assert relative_time(frozen_clock.now - timedelta(hours=3)) == "3 hours ago"
            assert relative_time(frozen_clock.now + timedelta(days=2)) == "in 2 days"
            assert relative_time(None) == ""
