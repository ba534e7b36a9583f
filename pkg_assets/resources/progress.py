"""Progress lines for long steps: in the step's Dagster log, and on the console when the CLI
runs the pipeline (it sets `PKG_CONSOLE_PROGRESS=1`; its console shows warnings only)."""

from __future__ import annotations

import os
import sys


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
