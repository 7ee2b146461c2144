"""The benchmarks (bench/, `make bench`) still run end to end, at a tiny size so they cannot rot.

Engine-free on purpose: the bench builds its own SQLite app and servers, so this runs once, not
once per engine. Nothing here looks at a timing: benchmarks report, tests do not time.
"""

import json

from bench import __main__ as bench


def test_label_benchmark_prints_the_pdf_figure_beside_the_qr_baseline_and_saves_it(tmp_path, capsys):
    out = tmp_path / "latest.json"
    bench.main(["--only", "labels", "--labels", "5", "--runs", "2", "--out", str(out)])

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
    bench.main([*args, "--processes", "2", "--out", str(out)])

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
