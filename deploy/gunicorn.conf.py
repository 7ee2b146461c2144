"""gunicorn settings for the web processes: `gunicorn -c deploy/gunicorn.conf.py`.

Everything a host may need to change comes from the environment (deploy/groupbuy.env.example),
so one file serves every host, the systemd unit and the benchmark (bench/rush.py).

- Workers × threads. Each request is mostly Python (templates, ORM) holding the GIL, so
  processes give the parallelism; a few threads per process overlap the database round trips
  (PostgreSQL over the network, SQLite's fsync) and keep a slow request from holding a whole
  process. Default: one worker per CPU, at least 2, and 4 threads each (`gthread`).
- No scheduler here. Scheduled jobs run in `flask scheduler` processes (any number of them:
  they coordinate through the database), so a web worker never starts APScheduler, whatever
  the environment file says: with N workers per host it would be N more schedulers, started
  and killed with every worker restart.
- No preload. The app is created in each worker after the fork, so nothing made while
  building it (a database connection, a lock, a thread) is shared by forked processes, and
  `systemctl reload` (SIGHUP) starts workers on the new release's code. The cost is a few
  tens of MiB per worker that copy-on-write would have shared.
- Metrics. Each worker counts its own requests; with PROMETHEUS_MULTIPROC_DIR set (the web
  unit sets it under its runtime directory) every worker writes them to files there and
  /metrics, whichever worker answers, adds them up (prometheus_client's multiprocess mode).
  The folder is emptied of dead processes' files when gunicorn starts, and a worker that
  exits has its live gauges dropped.
"""

from __future__ import annotations

import glob
import os
import re

wsgi_app = "app:create_app()"

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS") or os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"

# Longer than nginx keeps an idle upstream connection (keepalive_timeout 60s in
# deploy/nginx/groupbuy.conf): the proxy must be the side that closes it, or it may send a
# request on a connection gunicorn is closing at that moment and answer the customer 502.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# A worker silent this long is killed and replaced. The slowest request (a 50,000-order
# document) is built by the scheduler's job, not in a request, so 30 s is already generous.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30

# Heartbeat files on tmpfs: on a disk-backed /tmp the heartbeat's fchmod can stall a worker
# behind the disk, and the arbiter then kills a worker that was only waiting.
# gunicorn creates its own unlinked file there, so a shared directory is no risk.
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

# The request log, "-" for stdout (journald under systemd). %(M)s is the duration in ms; the
# client is nginx's address here, the customer's is in X-Forwarded-For (%({x-forwarded-for}i)s).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), which
# two instances on one host would take from each other; only open it where one is given.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# Set in the arbiter before any worker imports the app; see "No scheduler here" above.
raw_env = ["SCHEDULER_ENABLED=0"]

proc_name = "groupbuy-web"

_METRICS_FILE = re.compile(r"_(\d+)\.db$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):  # noqa: ARG001 - gunicorn's hook signature
    """Before any worker: make the metrics folder, and drop the files of processes that are gone
    (a previous run's workers), so counters start again from zero rather than from stale files."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(folder, "*.db")):
        match = _METRICS_FILE.search(path)
        if match and not _process_alive(int(match.group(1))):
            os.remove(path)


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
