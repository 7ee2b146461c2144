"""`python -m bench` (`make bench`): run the benchmarks, print each figure beside its baseline, save them.

The six figures of issue #6 — order rush, close at scale (SQLite, and PostgreSQL when it answers),
redemption, labels, dashboards, and the workers' peak memory inside the close and dashboard
figures — run by default, in about ten minutes on two cores. The documents benchmark (issue #5)
runs with `--only documents`. A full run writes the headline table to bench/results.json and
BENCHMARKS.md; every run writes its details to bench/results/latest.json. Benchmarks report; they
never fail on a missed target (the exit status is 0 unless something broke).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import quiet, report, summary

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_SET = ("rush", "close", "redeem", "labels", "dashboard")
CHOICES = (*DEFAULT_SET, "documents")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/groupbuy_bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    import os

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=CHOICES, action="append", help="run only these (repeatable)")
    parser.add_argument("--rush-clients", type=int, default=200, help="concurrent buyers in the order rush (200)")
    parser.add_argument("--rush-requests", type=int, help="hot-item orders per buyer in the rush (24)")
    parser.add_argument("--rush-workers", type=int, default=None, help="gunicorn workers (the rush's default)")
    parser.add_argument("--close-orders", type=int, default=100_000, help="paid orders in the SQLite close (100000)")
    parser.add_argument("--close-points", type=int, default=500, help="pickup points in the close (500)")
    parser.add_argument("--close-products", type=int, default=50, help="products in the close (50)")
    # A million orders on PostgreSQL take about nine minutes (set-up 2–3, close ~5, baseline ~1.5): past
    # the ten-minute budget of the whole run, so by default PostgreSQL closes the SQLite figure's size.
    parser.add_argument(
        "--pg-close-orders", type=int, default=100_000, help="orders in the PostgreSQL close (100000; 1000000: ~9 min)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", PG_DEFAULT),
        help="PostgreSQL database for the close at scale, created if missing ('' skips it)",
    )
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
    parser.add_argument(
        "--settle-s",
        type=float,
        default=quiet.TIMEOUT_S,
        help="at most this long, before each figure, wait for the CPUs to go quiet (60; 0: do not wait)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="detailed JSON (bench/results/latest.json)")
    parser.add_argument("--results", type=Path, help="headline JSON (bench/results.json on a full run)")
    parser.add_argument("--markdown", type=Path, help="BENCHMARKS.md to write (the repository's on a full run)")
    args = parser.parse_args(argv)
    args.selected = tuple(args.only) if args.only else DEFAULT_SET
    full = not args.only
    args.results = args.results or (summary.RESULTS_JSON if full else None)
    args.markdown = args.markdown or (summary.BENCHMARKS_MD if full else None)
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, work: Path) -> tuple[dict, dict]:
    """The detailed results and the headline rows of each benchmark run."""
    results = report.stamp({})  # machine and load average before the benchmarks add their own load
    rows: dict[str, dict] = {}
    chosen = args.selected
    results["quiet"] = {}
    pg_used: list[str] = []  # a PostgreSQL figure's database, checkpointed before the next figure

    def settle(name: str) -> None:
        pg_url = pg_used[-1] if pg_used else None
        results["quiet"][name] = quiet.settle(_say, pg_url=pg_url, timeout_s=args.settle_s)

    if "rush" in chosen:
        settle("rush")
        from bench import rush

        _say(f"order rush: {args.rush_clients} buyers against gunicorn, then the bare baseline…")
        extra = {"workers": args.rush_workers} if args.rush_workers else {}
        if args.rush_requests:
            extra["requests"] = args.rush_requests
        results["rush"] = rush.run(work / "rush", clients=args.rush_clients, **extra)
        rows.update(rush.headline(results["rush"]))
    if "close" in chosen:
        settle("close")
        from bench import close, pg

        pg_url = pg.ensure_database(args.pg_url, _say) if args.pg_url else None
        _say(
            f"close: {args.close_orders} paid orders on SQLite"
            + (f", {args.pg_close_orders} on PostgreSQL…" if pg_url else "…")
        )
        results["close"] = close.run(
            work / "close",
            orders=args.close_orders,
            points=args.close_points,
            products=args.close_products,
            pg_url=pg_url,
            pg_orders=args.pg_close_orders,
        )
        if pg_url:
            results["machine"]["postgresql"] = pg.server_version(pg_url)
            pg_used.append(pg_url)
        rows.update(close.headline(results["close"]))
    if "redeem" in chosen:
        settle("redeem")
        from bench import redeem

        _say(f"redeem: {redeem.codes_needed(args.clients, args.requests, args.flat_out)} orders, app and baseline…")
        results["redeem"] = redeem.run(
            work / "redeem",
            clients=args.clients,
            paced=args.requests,
            think=args.think_ms / 1000,
            flat_out=args.flat_out,
            processes=args.processes,
            threads=args.threads,
        )
        rows.update(redeem.headline(results["redeem"]))
    if "labels" in chosen:
        settle("labels")
        from bench import label_pdf

        _say(f"label PDF: seeding {args.labels} orders through the services…")
        results["label_pdf"] = label_pdf.run(work / "labels", count=args.labels, runs=args.runs, layout=args.layout)
        rows.update(label_pdf.headline(results["label_pdf"]))
    if "dashboard" in chosen:
        settle("dashboard")
        from bench import dashboard

        _say(f"dashboard: a year of {args.dash_orders} orders in bulk, the rollup, then the pages…")
        results["dashboard"] = dashboard.run(work / "dashboard", orders=args.dash_orders, repeat=args.dash_repeat)
        rows.update(dashboard.headline(results["dashboard"]))
    if "documents" in chosen:
        settle("documents")
        from bench import documents

        _say(f"documents: {args.doc_orders} + {args.doc_orders // 5} orders in bulk, then 18 builds…")
        results["documents"] = documents.run(work / "documents", orders=args.doc_orders)
    return report.judge(results), summary.with_ratios(rows)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="groupbuy-bench-") as work:
        results, rows = run(args, Path(work))
    details = report.render(results)
    print(details)
    if rows:
        print("\n" + summary.render(rows))
    report.write_json({**results, "headline": rows}, args.out)
    print(f"\ndetails written to {args.out}")
    if args.results:
        summary.write(rows, results, details, json_path=args.results, md_path=args.markdown)
        print(f"headline figures written to {args.results}" + (f" and {args.markdown}" if args.markdown else ""))
    return {**results, "headline": rows}


if __name__ == "__main__":
    main()
