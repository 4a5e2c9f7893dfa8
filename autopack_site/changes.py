"""Wake-ups for long-polls, without a database connection per waiter.

A state change announces its topic ("action:42") inside the transaction that makes it
(`announce`). Waiters block on `wait_for` in memory. On PostgreSQL the announcement is a NOTIFY,
delivered when the transaction commits, and one listener thread per process (its own
connection, started on the first wait) wakes that process's waiters; in the same process (and on
SQLite, the single-process embedded default) an after-commit hook wakes them too. A lost
wake-up only costs a waiter its fallback re-check (AUTOPACK_LONG_POLL_RECHECK_SECONDS).
"""

import logging
import threading
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

CHANNEL = "autopack_changes"

_waiters: dict[str, set[threading.Event]] = defaultdict(set)
_waiters_lock = threading.Lock()
_listener: threading.Thread | None = None
_listener_lock = threading.Lock()
_stopping = threading.Event()


def announce(topic: str) -> None:
    """Inside the changing transaction: waiters on ``topic`` wake once it commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # NOTIFY has no ORM spelling; PostgreSQL delivers it at commit, never on rollback.
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, topic])
    transaction.on_commit(lambda: _wake(topic))


def wait_for(topic: str, timeout: float) -> bool:
    """Blocks up to ``timeout`` seconds for an announcement of ``topic``; True if one came."""
    if timeout <= 0:
        return False
    if connection.vendor == "postgresql":
        _ensure_listener()
    event = threading.Event()
    with _waiters_lock:
        _waiters[topic].add(event)
    try:
        return event.wait(timeout)
    finally:
        with _waiters_lock:
            _waiters[topic].discard(event)
            if not _waiters[topic]:
                del _waiters[topic]


def _wake(topic: str) -> None:
    with _waiters_lock:
        events = list(_waiters.get(topic, ()))
    for event in events:
        event.set()


def _ensure_listener() -> None:
    global _listener
    if _listener is not None and _listener.is_alive():
        return
    with _listener_lock:
        if _listener is None or not _listener.is_alive():
            # LISTEN needs a session of its own: behind PgBouncer in transaction mode, point
            # AUTOPACK_LISTEN_DATABASE_URL at PostgreSQL itself.
            direct = settings.AUTOPACK_LISTEN_DATABASE_URL
            params = {"conninfo": direct} if direct else connection.get_connection_params()
            _listener = threading.Thread(
                target=_listen, args=(params,), name="autopack-changes", daemon=True
            )
            _listener.start()


def stop_listener() -> None:
    """Ends this process's listener (tests do, before the test database is dropped)."""
    global _listener
    with _listener_lock:
        if _listener is not None:
            _stopping.set()
            _listener.join(timeout=5)
            _listener = None
            _stopping.clear()


def _listen(params: dict) -> None:
    import psycopg

    params = {k: v for k, v in params.items() if k not in ("cursor_factory", "context")}
    while not _stopping.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as listening:
                listening.execute(f"LISTEN {CHANNEL}")
                while not _stopping.is_set():
                    for notice in listening.notifies(timeout=1.0):
                        _wake(notice.payload)
        except Exception:
            logger.warning("change listener lost its connection; reconnecting", exc_info=True)
            time.sleep(1)
