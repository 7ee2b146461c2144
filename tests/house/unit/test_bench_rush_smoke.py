"""The order-rush benchmark (bench/rush.py) still runs end to end under gunicorn, at a tiny size.

Engine-free like tests/house/unit/test_bench_smoke.py: the bench builds its own SQLite app and starts
gunicorn with deploy/gunicorn.conf.py. Nothing here looks at a timing.
"""

from bench import rush


def test_rush_on_gunicorn_sells_the_stock_once_and_refuses_the_rest(tmp_path):
    result = rush.run(tmp_path, clients=10, requests=3, workers=2, threads=2, processes=2)

    assert (result["demand"], result["stock"]) == (30, 22)
    for side in ("app", "baseline"):
        outcome = result[side]
        # Every order answered: placed until sold out, then refused; no 429, 5xx or dropped connection.
        assert outcome["statuses"] == {"201": 22, "409": 8}, outcome
        assert outcome["database"] == {
            "stock": 22,
            "stock_left": 0,
            "orders": 22,
            "units_sold": 22,
            "oversold": 0,
            "counters_agree": True,
        }

    rows = rush.headline(result)
    assert set(rows) == {"rush_orders_per_s", "rush_p50_ms", "rush_p99_ms", "rush_oversold"}
    for row in rows.values():
        assert set(row) >= {"value", "unit", "baseline", "baseline_label", "target", "met"}
    assert rows["rush_orders_per_s"]["baseline_label"] == "bare Flask JSON endpoint on gunicorn"
    assert rows["rush_oversold"]["value"] == 0
    assert rows["rush_oversold"]["met"] is True
