"""Wait for the machine to go quiet before a figure is measured, and say how quiet it was.

On two cores anything else running skews a latency figure: the redemption p99 was 40 ms in a
run made while other work shared the machine, and 11–13 ms on a quiet one. A figure's own
aftermath can do the same (a PostgreSQL close leaves dirty buffers for the checkpointer and
autovacuum to write out). So before each figure the runner asks PostgreSQL (when a figure used
it) for a checkpoint, then samples the CPUs until they are mostly idle, and records the idle
share it started at: a figure taken on a busy machine is visible as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

STAT = Path("/proc/stat")
IDLE_SHARE = 0.85  # idle + iowait of all CPUs over one sample
SAMPLE_S = 1.0
TIMEOUT_S = 60.0


def _cpu_times(stat: Path) -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs, or None where /proc/stat is not available."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    numbers = [int(n) for n in fields[1:]]
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    return idle, sum(numbers)


def idle_share(stat: Path = STAT, sample_s: float = SAMPLE_S) -> float | None:
    """The CPUs' idle share over one sample; None where it cannot be read."""
    before = _cpu_times(stat)
    if before is None:
        return None
    time.sleep(sample_s)
    after = _cpu_times(stat)
    if after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def settle(
    say: Callable[[str], None],
    *,
    pg_url: str | None = None,
    share: float = IDLE_SHARE,
    timeout_s: float = TIMEOUT_S,
    stat: Path = STAT,
    sample_s: float = SAMPLE_S,
) -> dict:
    """Checkpoint PostgreSQL, then wait (at most `timeout_s`) until the CPUs are `share` idle.

    Returns {"waited_s", "idle_share", "quiet"}: `quiet` False when the time ran out first."""
    if pg_url:
        _checkpoint(pg_url)
    started = time.monotonic()
    idle = idle_share(stat, sample_s)
    while idle is not None and idle < share and time.monotonic() - started < timeout_s:
        idle = idle_share(stat, sample_s)
    waited = round(time.monotonic() - started, 1)
    quiet = idle is None or idle >= share
    if not quiet:
        say(f"  the machine is still busy after {waited:g} s ({idle:.0%} idle): the next figure may suffer")
    return {"waited_s": waited, "idle_share": None if idle is None else round(idle, 3), "quiet": quiet}


def _checkpoint(url: str) -> None:
    """Write PostgreSQL's dirty buffers now rather than during the next figure (needs superuser;
    skipped quietly without it, as the wait for idle CPUs still covers most of it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    except SQLAlchemyError:
        pass
    finally:
        engine.dispose()
