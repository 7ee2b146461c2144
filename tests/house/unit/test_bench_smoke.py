"""The benchmarks (bench/, `make bench`) still run end to end, at a tiny size so they cannot rot.

Engine-free on purpose: the bench builds its own SQLite app and servers, so this runs once, not
once per engine. Nothing here looks at a timing: benchmarks report, tests do not time.
"""

import json

from bench import __main__ as bench
from bench import summary


def test_label_benchmark_prints_the_pdf_figure_beside_the_qr_baseline_and_saves_it(tmp_path, capsys):
    out = tmp_path / "latest.json"
    bench.main(["--only", "labels", "--labels", "5", "--runs", "2", "--settle-s", "0", "--out", str(out)])

    printed = capsys.readouterr().out
    assert "label_pdf_5" in printed
    assert "baseline qr_encode 5 codes" in printed
    saved = json.loads(out.read_text())["label_pdf"]
    assert saved["labels"] == 5
    assert saved["byte_identical_runs"] is True
    assert saved["baseline_qrcode_library"]["codes"] == saved["labels_qr_encoder"]["codes"] == 5
    assert saved["target_met"] is None  # the target is for 500 labels: not judged at 5


def test_redeem_benchmark_hands_over_every_code_on_the_app_and_the_baseline(tmp_path, capsys):
    out = tmp_path / "latest.json"
    args = ["--only", "redeem", "--clients", "2", "--requests", "3", "--think-ms", "0", "--flat-out", "1"]
    bench.main([*args, "--processes", "2", "--settle-s", "0", "--out", str(out)])

    printed = capsys.readouterr().out
    assert "redeem endpoint" in printed
    assert "bare Flask + SQL" in printed
    saved = json.loads(out.read_text())["redeem"]
    for side in ("app", "baseline"):
        assert saved[side]["paced"]["statuses"] == {"200": 6}
        assert saved[side]["flat_out"]["statuses"] == {"200": 2}
    # Warm-up requests redeem codes too: every seeded code was handed over exactly once.
    assert saved["codes_redeemed"] == saved["orders_seeded"] == 2 * (3 + 1 + 2)
    assert saved["target_met"] is None


def test_documents_benchmark_builds_every_document_and_its_totals_equal_the_inserted_orders(tmp_path, capsys):
    out = tmp_path / "latest.json"
    bench.main(["--only", "documents", "--doc-orders", "200", "--settle-s", "0", "--out", str(out)])

    printed = capsys.readouterr().out
    assert "packing pdf" in printed and "packing raw SQL→csv" in printed
    assert "the app idle" in printed
    saved = json.loads(out.read_text())["documents"]
    assert (saved["orders"], saved["small_orders"]) == (200, 40)
    full, small = saved["windows"]["full"], saved["windows"]["small"]
    assert (full["orders"], full["cancelled"], small["orders"]) == (200, 4, 40)
    assert [(d["kind"], d["format"]) for d in saved["documents"]] == [
        (kind, fmt) for kind in ("picking", "packing", "route") for fmt in ("csv", "xlsx", "pdf")
    ]
    for document in saved["documents"]:
        for size, window in (("small", small), ("full", full)):
            build = document[size]
            assert build["status"] == "done", build.get("error")
            assert build["rows"] == build["total_rows"] > 0  # progress reached every row
            assert build["peak_rss_mib"] >= saved["app_idle"]["rss_mib"] > 0
            if document["format"] == "pdf":
                assert build["read_back"] is None  # not read back; the integration tests read PDF text
                continue
            # The file, read back, adds up to what was inserted (cancelled orders left out).
            read = build["read_back"]
            if document["kind"] == "picking":
                assert read == {"units_per_point": window["units"], "units_all_points": window["units"]}
            elif document["kind"] == "packing":
                assert read == {"rows": window["lines"], "units": window["units"]}
            else:
                assert read == {"rows": window["points"], "bags": window["orders"], "units": window["units"]}
            assert build["totals_ok"] is True
    for baseline in saved["baseline_raw_sql"]:
        assert baseline["full"]["totals_ok"] is baseline["small"]["totals_ok"] is True
        assert 0 < baseline["full"]["peak_rss_mib"] < saved["app_idle"]["rss_mib"]
    assert saved["all_done"] is True
    assert saved["target_met"] is None  # the target is for 50,000 orders: not judged at 200


def test_dashboard_benchmark_pages_agree_with_raw_sql_over_the_orders(tmp_path, capsys):
    out = tmp_path / "latest.json"
    bench.main(
        ["--only", "dashboard", "--dash-orders", "3000", "--dash-repeat", "2", "--settle-s", "0", "--out", str(out)]
    )

    printed = capsys.readouterr().out
    assert "/api/v1/merchant/reports/overview" in printed and "raw SQL over orders" in printed
    saved = json.loads(out.read_text())["dashboard"]
    assert saved["orders"] == 3000
    assert saved["rollup"]["ledger_rows"] == 3000 + saved["refunds"]
    assert set(saved["ranges"]) == {"today", "7d", "30d"}
    for figures in saved["ranges"].values():
        assert figures["figures_agree"] is True  # the summaries hold exactly what the orders say
        assert figures["page"]["n"] == figures["overview_api"]["n"] == 2
    assert saved["target_met"] is None  # judged at 1,000,000 orders only


def test_headline_figures_are_written_as_json_rows_and_a_markdown_table_beside_their_baselines(tmp_path, capsys):
    results, markdown = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    args = [
        "--only",
        "labels",
        "--labels",
        "4",
        "--runs",
        "1",
        "--settle-s",
        "0",
        "--out",
        str(tmp_path / "latest.json"),
    ]
    bench.main([*args, "--results", str(results), "--markdown", str(markdown)])

    printed = capsys.readouterr().out
    assert "labels_4_pdf" in printed and "baseline is" in printed
    rows = json.loads(results.read_text())
    assert list(rows) == ["labels_4_pdf"]
    row = rows["labels_4_pdf"]
    assert set(row) == {"value", "unit", "baseline", "ratio", "target", "met"}
    assert row["unit"] == "s" and row["value"] > 0 and row["baseline"] > 0
    assert row["ratio"] == round(row["value"] / row["baseline"], 3)
    assert row["met"] is None  # judged at 500 labels only
    text = markdown.read_text()
    assert text.startswith("# Benchmarks") and "| labels_4_pdf |" in text and "raw QR encoding" in text


def test_a_new_run_replaces_the_figures_and_keeps_the_notes_written_under_them(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\nold table\n\n## Notes\n\nRun A against run B: within noise.\n")
    summary.write(
        {}, {"machine": _MACHINE, "generated_at": "now"}, "new details", json_path=tmp_path / "r.json", md_path=md
    )
    text = md.read_text()
    assert "old table" not in text and "new details" in text
    assert text.rstrip().endswith("## Notes\n\nRun A against run B: within noise.")
    md.write_text("# Benchmarks\n\nno notes here\n")
    summary.write({}, {"machine": _MACHINE, "generated_at": "now"}, "again", json_path=tmp_path / "r.json", md_path=md)
    assert "## Notes" not in md.read_text()


_MACHINE = {"cpus": 2, "platform": "test", "python": "3", "sqlite": "3", "load_average_1min": 0.0}
