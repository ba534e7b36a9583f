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
def environment(**env: str):
    """`env` set in os.environ for the block, the previous values back after it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def fresh_pipeline(**env: str):
    """A temporary PKG_DATA_DIR (plus `env`), and an ephemeral Dagster instance."""
    with tempfile.TemporaryDirectory(prefix="pkg_bench_") as tmp, \
            environment(PKG_DATA_DIR=str(Path(tmp) / "data"), **env):
        import dagster as dg

        from pkg_assets.definitions import make_definitions

        yield dg.DagsterInstance.ephemeral(), make_definitions(), Path(tmp) / "data"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


BEAUTY = SHARED_DATA / "amazon-beauty"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def materialise_catalog(instance, defs, assets: list[str], run_config: dict | None = None) -> dict[str, float]:
    """Ingest the configured catalog (products per category, interactions) and materialise `assets`
    (unpartitioned graph assets) through Dagster. Returns seconds per step.

    No LLM runs: the graph is built from behaviour (LLM tables stay empty), as a platform
    would serve it before any extraction.
    """
    import time

    import dagster as dg

    timings = {}
    categories = defs.resources["catalog"].categories()
    instance.add_dynamic_partitions("category", categories)
    started = time.perf_counter()
    products = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("products")})
    for category in categories:
        assert products.execute_in_process(instance=instance, partition_key=category, run_config=QUIET).success
    assert defs.resolve_job_def("interactions_job").execute_in_process(instance=instance, run_config=QUIET).success
    timings["ingest_s"] = time.perf_counter() - started
    for asset in assets:
        started = time.perf_counter()
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey(asset)})
        config = {**QUIET, **({"ops": {asset: {"config": run_config[asset]}}} if run_config and asset in run_config else {})}
        assert job.execute_in_process(instance=instance, run_config=config).success, asset
        timings[f"{asset}_s"] = time.perf_counter() - started
    return timings
