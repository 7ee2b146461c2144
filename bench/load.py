"""A small closed-loop load generator: several processes, a thread and a keep-alive connection per client.

Each client sends its requests one after another (a scanner waits for the answer before the next
scan), optionally pausing a random think time between them. Every client first sends its warm-up
requests; the measured requests start together once all clients are warmed up. Latency is the
time from sending a request to having read the whole answer. Plain http.client keeps the
generator's own cost per request small, and processes keep it from sharing one GIL with itself.
"""

from __future__ import annotations

import http.client
import math
import multiprocessing
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Client:
    headers: dict[str, str]
    bodies: list[bytes]  # measured requests
    warmup: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class Sample:
    status: int  # 0: no answer (connection error)
    sent: float  # time.monotonic(), comparable across processes on one machine
    latency: float  # seconds


@dataclass
class LoadResult:
    samples: list[Sample]
    clients: int
    processes: int
    think_ms: float

    def summary(self) -> dict:
        latencies = sorted(s.latency for s in self.samples)
        statuses = Counter(s.status for s in self.samples)
        wall = max(s.sent + s.latency for s in self.samples) - min(s.sent for s in self.samples)
        return {
            "requests": len(self.samples),
            "clients": self.clients,
            "processes": self.processes,
            "think_ms": self.think_ms,
            "ok": statuses.get(200, 0),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "max_ms": latencies[-1] * 1000,
            "mean_ms": sum(latencies) / len(latencies) * 1000,
            "throughput_rps": len(self.samples) / wall if wall > 0 else 0.0,
            "wall_s": wall,
        }


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list: the smallest value with p% of samples at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _send(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        conn.close()  # reopened by the next request
        status = 0
    return status, time.perf_counter() - started


def _client(port, path, client: Client, think: float, seed: int, warmed: threading.Barrier, go: threading.Event, out):
    rng = random.Random(seed)
    headers = {"Content-Type": "application/json", **client.headers}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for body in client.warmup:
        _send(conn, path, body, headers)
    warmed.wait()
    go.wait()
    if think:
        time.sleep(rng.uniform(0, think))  # scanners do not all press at the same instant
    for body in client.bodies:
        sent = time.monotonic()
        status, latency = _send(conn, path, body, headers)
        out.append(Sample(status, sent, latency))
        if think:
            time.sleep(rng.uniform(0, 2 * think))  # mean `think`
    conn.close()


def _worker(port, path, clients: list[Client], think: float, seed: int, ready, results) -> None:
    warmed = threading.Barrier(len(clients) + 1)
    go = threading.Event()
    samples: list[Sample] = []
    threads = [
        threading.Thread(target=_client, args=(port, path, c, think, seed + i, warmed, go, samples), daemon=True)
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    warmed.wait()
    ready.wait()  # every process warmed up: start together
    go.set()
    for thread in threads:
        thread.join()
    results.put(samples)


def run(port: int, path: str, clients: list[Client], *, processes: int = 5, think: float = 0.0, seed: int = 1):
    """Drive `clients` against 127.0.0.1:`port` from `processes` processes; the measured samples."""
    processes = max(1, min(processes, len(clients)))
    ctx = multiprocessing.get_context("spawn")  # children must not inherit the parent's database handles
    ready = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    shares = [clients[i::processes] for i in range(processes)]
    workers = [
        ctx.Process(target=_worker, args=(port, path, share, think, seed + 1000 * i, ready, results), daemon=True)
        for i, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=600)
    samples: list[Sample] = []
    for _ in workers:
        samples.extend(results.get(timeout=3600))
    for worker in workers:
        worker.join()
    return LoadResult(samples=samples, clients=len(clients), processes=processes, think_ms=think * 1000)
