"""Figure (b): POST /api/v1/pickup/redeem with 50 concurrent scanners, beside a bare-Flask baseline.

The app runs as in production (`flask serve`: waitress with its default 8 threads, SQLite in WAL
with BEGIN IMMEDIATE writes, rate limits on) over a database seeded through the services: one
arrived batch at one pickup point, and one staff member with an API token per scanner. Every
request redeems a different code with the code itself as its proof (the 8 digits, as a wedge scanner
or a typed confirm sends them), as a busy counter does. The baseline (bench/bare_app.py) is
served the same way and driven by the same clients.

Two phases, each on fresh codes after one warm-up request per client:
- paced: each scanner redeems, waits a random think time (mean `think`), redeems again: the
  target's "50 concurrent scanners". At think 1 s that is ~40 redeems a second at one point,
  several times what people can hand over, so a stress pace rather than a typical one.
- flat out: no think time, to show capacity (throughput) and latency once requests queue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Leader, PickupCode
from app.services.accounts import accounts, tokens
from app.services.pickup import points
from bench import bare_app, data, load, servers

PATH = "/api/v1/pickup/redeem"
WARMUP = 1  # per client and phase: opens the connection; the app's first use of a token writes last_used_at


def _scanner_tokens(shelf: data.Shelf, count: int) -> list[str]:
    """`count` staff members of the shelf's point, each with a scanner token (plain values)."""
    leader = db.session.get(Leader, shelf.leader_id)
    plain = []
    for n in range(count):
        phone = f"136{n:08d}"
        user = accounts.create_user(f"店员{n}", data.PASSWORD, phone=phone)
        points.assign_staff(leader, shelf.point_id, phone)
        plain.append(tokens.create_token(user, f"scanner {n}")[1])
    return plain


def _clients(
    point_id: int, codes: Iterator[tuple[int, str | None]], headers: list[dict], count: int
) -> list[load.Client]:
    """One client per header set, each with its own codes: WARMUP to warm up, then `count` measured."""

    def body() -> bytes:
        code_id, code = next(codes)
        fields = {"pickup_point_id": point_id, "code_id": code_id, "idempotency_key": uuid.uuid4().hex}
        if code is not None:
            fields["code"] = code
        return json.dumps(fields).encode()

    return [
        load.Client(headers=extra, warmup=[body() for _ in range(WARMUP)], bodies=[body() for _ in range(count)])
        for extra in headers
    ]


def _phases(
    port: int, path: str, point_id: int, codes: Iterator[tuple[int, str | None]], headers: list[dict], plan: dict
) -> dict:
    results = {}
    for phase, count, think in (("paced", plan["paced"], plan["think"]), ("flat_out", plan["flat_out"], 0.0)):
        if count:
            clients = _clients(point_id, codes, headers, count)
            results[phase] = load.run(port, path, clients, processes=plan["processes"], think=think).summary()
    return results


def codes_needed(clients: int, paced: int, flat_out: int) -> int:
    return clients * (paced + flat_out + 2 * WARMUP)


def run(
    work: Path,
    *,
    clients: int = 50,
    paced: int = 40,
    think: float = 1.0,
    flat_out: int = 20,
    processes: int = 5,
    threads: int = servers.THREADS,
) -> dict:
    """Seed, serve and load the app, then the baseline; each phase's load summary for both."""
    plan = {"paced": paced, "flat_out": flat_out, "think": think, "processes": processes}
    needed = codes_needed(clients, paced, flat_out)
    instance = work / "redeem-app"
    app = data.bench_app(instance)
    with app.app_context():
        shelf = data.arrived_batch(needed)
        plain = _scanner_tokens(shelf, clients)
        db.session.remove()
        db.engine.dispose()  # nothing of ours holds SQLite while the server works
    headers = [{"Authorization": f"Bearer {t}", "X-Device-Id": f"bench-scanner-{n:03d}"} for n, t in enumerate(plain)]
    with servers.app_server(data.database_url(instance), data.SECRET, instance, threads) as server:
        codes = iter(zip(shelf.code_ids, shelf.codes, strict=True))
        app_results = _phases(server.port, PATH, shelf.point_id, codes, headers, plan)
    with app.app_context():
        redeemed = db.session.scalar(
            select(func.count()).select_from(PickupCode).where(PickupCode.status == "redeemed")
        )
        db.engine.dispose()

    baseline_db = work / "baseline.sqlite3"
    bare_app.create_codes(baseline_db, needed)
    with servers.baseline_server(baseline_db, work, threads) as server:
        ids = ((n, None) for n in range(1, needed + 1))
        base_results = _phases(server.port, "/redeem", 0, ids, [{}] * clients, plan)
    return {
        "orders_seeded": len(shelf.code_ids),
        "codes_redeemed": redeemed,
        "clients": clients,
        "think_ms": think * 1000,
        "paced_per_client": paced,
        "flat_out_per_client": flat_out,
        "load_processes": processes,
        "server_threads": threads,
        "app": app_results,
        "baseline": base_results,
    }


def headline(result: dict) -> dict[str, dict]:
    """Paced scanners' latency and flat-out throughput, beside the bare Flask + SQL redeem."""
    from bench.report import REDEEM_P99_TARGET_MS, redeem_met

    app, base = result["app"], result["baseline"]
    label = "bare Flask + one SQL update, same waitress settings"
    rows = {}
    if "paced" in app:
        met = redeem_met(result)
        for pct in ("p50", "p99"):
            rows[f"redeem_{pct}"] = {
                "value": round(app["paced"][f"{pct}_ms"], 1),
                "unit": "ms",
                "baseline": round(base["paced"][f"{pct}_ms"], 1),
                "baseline_label": f"{label}; {result['clients']} scanners, ~{result['think_ms']:g} ms between scans",
                "target": f"≤ {REDEEM_P99_TARGET_MS:g} ms" if pct == "p99" else None,
                "met": met if pct == "p99" else None,
            }
    if "flat_out" in app:
        rows["redeem_throughput"] = {
            "value": round(app["flat_out"]["throughput_rps"], 1),
            "unit": "redeems/s",
            "baseline": round(base["flat_out"]["throughput_rps"], 1),
            "baseline_label": f"{label}; {result['clients']} scanners with no pause",
            "target": None,
            "met": None,
        }
    return rows
