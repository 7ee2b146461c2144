"""The figures as a table beside their baselines and targets, and as JSON for later comparison."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

# Issue #3's performance targets, and the sizes they are stated for.
LABEL_PDF_TARGET_S = 1.0
LABEL_PDF_TARGET_LABELS = 500
REDEEM_P99_TARGET_MS = 30.0
REDEEM_TARGET_CLIENTS = 50


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        # Other work on the machine skews every figure; this says how busy it was at the start.
        "load_average_1min": os.getloadavg()[0],
    }


def judge(results: dict) -> dict:
    """The results with each target and whether it was met."""
    judged = dict(results)
    if "label_pdf" in results:
        figure = results["label_pdf"]
        judged["label_pdf"] = {
            **figure,
            "target_s": LABEL_PDF_TARGET_S,
            # None: run at another size than the target's, so not judged.
            "target_met": figure["median_s"] <= LABEL_PDF_TARGET_S
            if figure["labels"] == LABEL_PDF_TARGET_LABELS
            else None,
        }
    if "redeem" in results and "paced" in results["redeem"]["app"]:
        figure = results["redeem"]
        judged["redeem"] = {
            **figure,
            "target_p99_ms": REDEEM_P99_TARGET_MS,
            "target_met": figure["app"]["paced"]["p99_ms"] <= REDEEM_P99_TARGET_MS
            if figure["clients"] >= REDEEM_TARGET_CLIENTS
            else None,
        }
    return judged


def _met(ok: bool | None) -> str:
    return "not judged at this size" if ok is None else "met" if ok else "NOT met"


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _load_row(name: str, s: dict) -> str:
    return (
        f"    {name:<20} {_ms(s['p50_ms']):>9} {_ms(s['p95_ms']):>9} {_ms(s['p99_ms']):>9} {_ms(s['max_ms']):>9}"
        f" {s['throughput_rps']:>8.1f}/s  {s['ok']}/{s['requests']} ok"
    )


def render(results: dict) -> str:
    """The human-readable table of judged results."""
    info = results["machine"]
    lines = [
        f"GroupBuy benchmarks · {info['cpus']} CPUs · Python {info['python']} · SQLite {info['sqlite']}"
        f" · {results['generated_at']} · load average at start {info['load_average_1min']:.2f}",
    ]
    if "label_pdf" in results:
        f = results["label_pdf"]
        lib, ours = f["baseline_qrcode_library"], f["labels_qr_encoder"]
        lines += [
            "",
            f"(a) batch label PDF: {f['labels']} labels, layout {f['layout']}, {f['runs']} runs",
            f"  label_pdf_{f['labels']:<6} median {f['median_s']:.2f} s  min {f['min_s']:.2f} s"
            f"  (target ≤ {f['target_s']:g} s for {LABEL_PDF_TARGET_LABELS}: {_met(f['target_met'])})"
            f"  | baseline qr_encode {lib['codes']} codes {lib['seconds']:.2f} s ({lib['codes_per_s']:.0f} codes/s)",
            f"  first run in the process (loads the CJK font) {f['first_run_s']:.2f} s;"
            f" the labels' own QR encoder: {ours['seconds']:.3f} s ({ours['codes_per_s']:.0f} codes/s);"
            f" runs byte-identical: {'yes' if f['byte_identical_runs'] else 'NO'}; {f['pdf_bytes']} bytes",
        ]
    if "redeem" in results:
        r = results["redeem"]
        lines += [
            "",
            f"(b) POST /api/v1/pickup/redeem: {r['clients']} concurrent clients, SQLite (WAL, BEGIN IMMEDIATE),"
            f" waitress {r['server_threads']} threads, {r['orders_seeded']} arrived orders at one pickup point",
            f"    {'':<20} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9} {'throughput':>10}",
        ]
        for phase, title in (
            ("paced", f"paced: each scanner waits ~{r['think_ms']:g} ms between redeems (random 0–2×)"),
            ("flat_out", "flat out: no think time (capacity; requests queue)"),
        ):
            if phase not in r["app"]:
                continue
            lines.append(f"  {title}")
            lines.append(_load_row("redeem endpoint", r["app"][phase]))
            lines.append(_load_row("bare Flask + SQL", r["baseline"][phase]))
            if phase == "paced" and "target_met" in r:
                lines.append(
                    f"    target p99 ≤ {r['target_p99_ms']:g} ms with {REDEEM_TARGET_CLIENTS} scanners:"
                    f" {_met(r['target_met'])}"
                )
        lines.append("  (the load generator runs on the same machine as the server and shares its CPUs)")
    return "\n".join(lines)


def stamp(results: dict) -> dict:
    """The results with when and where they were measured."""
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), **results}


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
