"""Helpers shared by the benchmarks: a fresh temporary Dagster instance and data folder."""

from __future__ import annotations

import os
import platform
import resource
import tempfile
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"


@contextmanager
def fresh_pipeline(**env: str):
    """A temporary PKG_DATA_DIR (plus `env`), and an ephemeral Dagster instance."""
    with tempfile.TemporaryDirectory(prefix="pkg_bench_") as tmp:
        saved = {k: os.environ.get(k) for k in ("PKG_DATA_DIR", *env)}
        os.environ["PKG_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ.update(env)
        try:
            import dagster as dg

            from pkg_assets.definitions import make_definitions

            yield dg.DagsterInstance.ephemeral(), make_definitions(), Path(tmp) / "data"
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
