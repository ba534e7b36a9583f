"""Progress lines for long steps: in the step's Dagster log, and on the console when the CLI
runs the pipeline (it sets `PKG_CONSOLE_PROGRESS=1`; its console shows warnings only)."""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager


def progress(log, message: str) -> None:
    if log is not None:
        log.info(message)
    if os.environ.get("PKG_CONSOLE_PROGRESS") == "1":
        print(f"    {message}", file=sys.stderr, flush=True)


def duration(seconds: float) -> str:
    """2h05m, 4m07s, 12s."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@contextmanager
def query_progress(conn, log, what: str, every_s: float = 10.0):
    """Report the progress of the DuckDB statement run inside the block every `every_s`
    seconds: DuckDB's own estimate (`query_progress()`, read from a watcher thread while the
    statement runs), as `what: 45% after 1m10s`. Quiet for statements shorter than `every_s`."""
    conn.execute("SET enable_progress_bar = true")        # DuckDB tracks progress only when on
    conn.execute("SET enable_progress_bar_print = false")  # ... and must not draw its own bar
    stop, started = threading.Event(), time.perf_counter()

    def watch() -> None:
        while not stop.wait(every_s):
            try:
                share = conn.query_progress()
            except Exception:  # noqa: BLE001 - no estimate is no reason to disturb the statement
                share = -1
            done = f"{share:.0f}%" if share >= 0 else "running"
            progress(log, f"{what}: {done} after {duration(time.perf_counter() - started)}")

    watcher = threading.Thread(target=watch, name=f"progress:{what}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
