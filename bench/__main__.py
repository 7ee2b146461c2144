"""`python -m bench` (`make bench`): run the benchmarks, print each figure beside its baseline, save JSON.

Benchmarks report; they never fail on a missed target (the exit status is 0 unless something broke).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import dashboard, documents, label_pdf, redeem, report

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("labels", "redeem", "documents", "dashboard"), help="run one benchmark")
    parser.add_argument("--labels", type=int, default=500, help="labels in the batch (500)")
    parser.add_argument("--runs", type=int, default=5, help="timed label PDF runs (5)")
    parser.add_argument("--layout", default="50x30", help="label layout (50x30)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent scanners (50)")
    parser.add_argument("--requests", type=int, default=40, help="paced redeems per scanner (40)")
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause between a scanner's redeems (1000)")
    parser.add_argument("--flat-out", type=int, default=20, help="redeems per client with no pause (20; 0 skips)")
    parser.add_argument("--processes", type=int, default=5, help="load generator processes (5)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads, app and baseline (8)")
    parser.add_argument(
        "--doc-orders", type=int, default=50_000, help="orders in the window documents (50000; also a fifth of it)"
    )
    parser.add_argument(
        "--dash-orders", type=int, default=1_000_000, help="orders in the sales dashboard's year (1000000)"
    )
    parser.add_argument("--dash-repeat", type=int, default=40, help="timed dashboard requests per range (40)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results (bench/results/latest.json)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> dict:
    results = report.stamp({})  # machine and load average before the benchmarks add their own load
    if args.only in (None, "labels"):
        print(f"label PDF: seeding {args.labels} orders through the services…", file=sys.stderr)
        results["label_pdf"] = label_pdf.run(work / "labels", count=args.labels, runs=args.runs, layout=args.layout)
    if args.only in (None, "redeem"):
        needed = redeem.codes_needed(args.clients, args.requests, args.flat_out)
        print(f"redeem: seeding {needed} orders, then loading the app and the baseline…", file=sys.stderr)
        results["redeem"] = redeem.run(
            work / "redeem",
            clients=args.clients,
            paced=args.requests,
            think=args.think_ms / 1000,
            flat_out=args.flat_out,
            processes=args.processes,
            threads=args.threads,
        )
    if args.only in (None, "documents"):
        print(f"documents: {args.doc_orders} + {args.doc_orders // 5} orders in bulk, then 18 builds…", file=sys.stderr)
        results["documents"] = documents.run(work / "documents", orders=args.doc_orders)
    if args.only in (None, "dashboard"):
        print(f"dashboard: a year of {args.dash_orders} orders in bulk, the rollup, then the page…", file=sys.stderr)
        results["dashboard"] = dashboard.run(work / "dashboard", orders=args.dash_orders, repeat=args.dash_repeat)
    return report.judge(results)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="groupbuy-bench-") as work:
        results = run(args, Path(work))
    print(report.render(results))
    report.write_json(results, args.out)
    print(f"\nresults written to {args.out}")
    return results


if __name__ == "__main__":
    main()
