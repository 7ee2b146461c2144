"""A real server in its own process (waitress, several threads) over the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(proc: subprocess.Popen, probe, describe, timeout: float, pause: float = 0.1) -> None:
    """Poll `probe()` until it answers True; RuntimeError with `describe()` (the child's log) if
    the child exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited: {describe()}")
        if probe():
            return
        time.sleep(pause)
    raise RuntimeError(f"did not start: {describe()}")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LiveServer:
    def __init__(
        self,
        database_url: str,
        secret_key: str,
        instance_path: str,
        threads: int = 16,
        *,
        scheduler: bool = False,
        env: dict[str, str] | None = None,
        server: str = "waitress",
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        overrides = env or {}
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=secret_key,
            INSTANCE_PATH=instance_path,
            FLASK_APP="app",
            SCHEDULER_ENABLED="0",
            RATELIMIT_ENABLED="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(overrides)
        # A file, not a pipe: a pipe nobody reads fills up and stalls the server.
        self.log_path = Path(instance_path) / f"server-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        if server == "gunicorn":  # the production web process (deploy/gunicorn.conf.py), no scheduler
            assert not scheduler, "gunicorn web processes never run the scheduler"
            env.update(GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS="2", GUNICORN_THREADS=str(threads))
            argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
        else:  # `flask serve`: waitress, as `make run` serves
            argv = [sys.executable, "-m", "flask", "serve", "--scheduler" if scheduler else "--no-scheduler"]
            argv += ["--port", str(self.port), "--threads", str(threads)]
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        def answers() -> bool:
            try:
                requests.get(self.url + "/login", timeout=1)
                return True
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
                return False

        wait_until_ready(self.proc, answers, self.log, timeout)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text()


class FromAddress(HTTPAdapter):
    """Connections from one loopback address (127.0.0.2, ...): another customer, as the server
    (or nginx's $remote_addr) sees it. Mount it on a requests.Session."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)
