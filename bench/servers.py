"""Servers under load: each in its own process, served by waitress exactly as `flask serve` does."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `flask serve`'s default, used for the app and the baseline alike.
THREADS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process serving on 127.0.0.1:`port`; its output goes to `log_path`."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, port: int, probe: str):
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop(); a file, since an unread pipe stalls the child
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready(probe)

    def _wait_ready(self, probe: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", probe)
                conn.getresponse().read()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)  # not listening yet, or (gunicorn) listening before a worker answers
            finally:
                conn.close()
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def app_server(database_url: str, secret_key: str, instance: Path, threads: int = THREADS) -> Server:
    """The real app via `flask serve`, with production settings (rate limits on, BEGIN IMMEDIATE)."""
    port = free_port()
    env = {
        "FLASK_APP": "app",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "INSTANCE_PATH": str(instance),
        "SCHEDULER_ENABLED": "0",
    }
    argv = [sys.executable, "-m", "flask", "serve", "--no-scheduler", "--port", str(port), "--threads", str(threads)]
    return Server(argv, env, instance / "app-server.log", port, "/login")


def baseline_server(database: Path, log_dir: Path, threads: int = THREADS) -> Server:
    """The bare Flask baseline (bench/bare_app.py) over its own SQLite file."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_app", str(database), "--port", str(port), "--threads", str(threads)]
    return Server(argv, {}, log_dir / "baseline-server.log", port, "/ping")
