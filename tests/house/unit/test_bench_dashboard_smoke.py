"""The dashboard benchmark (bench/dashboard.py) runs end to end at a tiny size, so it cannot rot.

It seeds its own SQLite year and serves the app in its own process, so this runs once, not once
per engine. Nothing here looks at a timing: benchmarks report, tests do not time.
"""

import pytest

from bench import dashboard


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return dashboard.run(tmp_path_factory.mktemp("dashboard"), orders=3000, repeat=2)


def test_the_year_is_written_and_every_ledger_row_is_rolled_up(result):
    assert result["orders"] == 3000
    assert result["order_lines"] == 4500  # every other order has a second line
    assert result["refunds"] > 0
    assert result["rollup"]["ledger_rows"] == 3000 + result["refunds"]


def test_the_merchant_overview_and_page_agree_with_raw_sql_over_the_orders(result):
    assert set(result["ranges"]) == {"today", "7d", "30d"}
    for figures in result["ranges"].values():
        assert figures["figures_agree"] is True  # the summaries hold exactly what the orders say
        assert figures["overview_api"]["n"] == figures["page"]["n"] == 2
        assert figures["raw_sql_over_summaries"]["n"] == 2


def test_the_leaders_today_page_answered_and_showed_the_leaders_orders(result):
    leader = result["leader_today"]
    # Every timed request raised unless it answered 200; these are its samples.
    assert leader["page"]["n"] == leader["raw_sql"]["n"] == 2
    shown = leader["shown"]
    assert shown["today_window_orders"] > 0  # today's open window with the leader's sales so far
    assert shown["waiting-pickup"] > 0  # this morning's delivery, bags not collected yet
    assert shown["unread-alerts"] > 0
    assert leader["awaiting_arrival"] > 0  # yesterday's other batch is still on the road
    assert leader["figures_agree"] is True, (shown, leader["expected"])


def test_the_serving_workers_peak_memory_is_read_beside_its_idle_size(result):
    memory = result["worker_memory"]
    assert 0 < memory["idle"]["rss_mib"] <= memory["peak_rss_mib"]
    assert memory["peak_rss_mib"] == memory["after_requests"]["hwm_mib"]


def test_headline_rows_stand_beside_their_baselines_and_are_not_judged_below_a_million_orders(result):
    rows = dashboard.headline(result)

    assert list(rows) == ["dashboard_overview_p95", "leader_today_p95", "dashboard_worker_peak_rss"]
    for row in rows.values():
        assert set(row) == {"value", "unit", "baseline", "baseline_label", "target", "met"}
        assert row["value"] > 0 and row["baseline"] is not None and row["baseline_label"]
        assert row["met"] is None
    assert rows["dashboard_overview_p95"]["unit"] == rows["leader_today_p95"]["unit"] == "ms"
    assert rows["dashboard_overview_p95"]["target"] == "≤ 150 ms"
    assert rows["dashboard_worker_peak_rss"]["unit"] == "MiB"
    assert rows["dashboard_worker_peak_rss"]["baseline_label"] == "idle app process"


def test_headline_judges_the_overview_and_the_leader_page_at_a_million_orders(result):
    at_scale = {**result, "orders": 1_000_000}

    rows = dashboard.headline(at_scale)

    worst = max(r["overview_api"]["p95_ms"] for r in result["ranges"].values())
    assert rows["dashboard_overview_p95"]["met"] is (worst <= 150)
    assert rows["leader_today_p95"]["met"] is (result["leader_today"]["page"]["p95_ms"] <= 150)
