"""Progress lines for long steps: in the step's Dagster log, and on the console when the CLI
runs the pipeline (it sets `PKG_CONSOLE_PROGRESS=1`; its console shows warnings only)."""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager


_last_console_line = [0.0]  # when progress() last printed, so the step watcher stays quiet meanwhile


def progress(log, message: str) -> None:
    if log is not None:
        log.info(message)
    if os.environ.get("PKG_CONSOLE_PROGRESS") == "1":
        print(f"    {message}", file=sys.stderr, flush=True)
        _last_console_line[0] = time.monotonic()


def duration(seconds: float) -> str:
    """2h05m, 4m07s, 12s."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@contextmanager
def _in_background(watch, name: str):
    """Run `watch(stop)` in a daemon thread for the duration of the block; `stop` is set at
    the end, and the block waits for the watcher's last words."""
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,), name=name, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


@contextmanager
def query_progress(conn, log, what: str, every_s: float = 10.0):
    """Report the progress of the DuckDB statement run inside the block every `every_s`
    seconds: DuckDB's own estimate (`query_progress()`, read from a watcher thread while the
    statement runs), as `what: 45% after 1m10s`. Quiet for statements shorter than `every_s`."""
    conn.execute("SET enable_progress_bar = true")        # DuckDB tracks progress only when on
    conn.execute("SET enable_progress_bar_print = false")  # ... and must not draw its own bar
    started = time.perf_counter()

    def watch(stop: threading.Event) -> None:
        while not stop.wait(every_s):
            try:
                share = conn.query_progress()
            except Exception:  # noqa: BLE001 - no estimate is no reason to disturb the statement
                share = -1
            done = f"{share:.0f}%" if share >= 0 else "running"
            progress(log, f"{what}: {done} after {duration(time.perf_counter() - started)}")

    with _in_background(watch, f"progress:{what}"):
        yield


@contextmanager
def watch_steps(instance, run_id: str, say, every_s: float = 10.0, poll_s: float = 0.5, quiet_below_s: float = 2.0):
    """While a run executes in this process, say the end of each step that took at least
    `quiet_below_s` (or failed) with its seconds, and for a step that runs long with nothing
    printed, `step: running for 40s` every `every_s`. Reads
    the run's step events from the Dagster instance (the same events the UI shows), so every
    step is covered, with or without progress reporting of its own."""
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
             DagsterEventType.STEP_UP_FOR_RETRY}

    def watch(stop: threading.Event) -> None:
        seen, running = 0, {}
        last_said = time.monotonic()
        while True:
            stopping = stop.wait(poll_s)
            try:
                events = [e for e in instance.all_logs(run_id, of_type=kinds) if e.dagster_event is not None]
            except Exception:  # noqa: BLE001 - the storage is busy: try again at the next poll
                events = []
            for entry in events[seen:]:
                step, kind = entry.step_key, entry.dagster_event.event_type
                if kind == DagsterEventType.STEP_START:
                    running[step] = entry.timestamp
                    continue
                started = running.pop(step, entry.timestamp)
                if kind == DagsterEventType.STEP_SUCCESS and entry.timestamp - started < quiet_below_s:
                    continue
                outcome = {DagsterEventType.STEP_SUCCESS: "done", DagsterEventType.STEP_FAILURE: "FAILED",
                           DagsterEventType.STEP_UP_FOR_RETRY: "failed, up for retry"}[kind]
                say(f"    {step}: {outcome} in {entry.timestamp - started:.1f}s")
                last_said = time.monotonic()
            seen = max(seen, len(events))
            now = time.monotonic()
            if running and now - max(last_said, _last_console_line[0]) >= every_s:
                for step, started in running.items():
                    say(f"    {step}: running for {duration(time.time() - started)}")
                last_said = now
            if stopping:
                return

    with _in_background(watch, f"steps:{run_id[:8]}"):
        yield
