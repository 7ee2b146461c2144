"""Running a job (or any call) in several threads released at the same instant, each in its own
app context, to try to break a compare-and-set the way two schedulers would."""

from __future__ import annotations

from threading import Barrier, Thread

from app.extensions import db


def run_at_once(app, call, *, times: int = 2, timeout: float = 60) -> list:
    """What `call()` returned (or raised) in each thread, in no particular order."""
    barrier, outcomes = Barrier(times), []

    def run():
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                outcomes.append(call())
            except Exception as exc:  # noqa: BLE001 - the caller counts refusals among outcomes
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    db.session.rollback()  # a fresh snapshot for the caller's checks
    return outcomes
