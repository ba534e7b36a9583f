"""The per-category rebuild on an existing distributed engine: dagster-celery with a Redis
broker (Debian's `redis-server`, started here) and two workers, separate processes that share
only the Dagster instance, the warehouse catalog and its data path. Two category runs are
launched at once; their steps are tasks both workers take, and the rebuilt categories equal
what the single-process run built. Skipped where redis-server or dagster-celery is absent
(`.ci/run` installs Debian's redis-server; the test extra installs dagster-celery)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pkg_assets_tests.conftest import free_port
from pkg_assets.resources.warehouse import copy_warehouse, open_folder_warehouse

PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is absent (apt-get install redis-server)"),
    pytest.mark.skipif(__import__("importlib").util.find_spec("dagster_celery") is None,
                       reason="dagster-celery is absent (pip install -e '.[distributed]')"),
]
CATEGORIES = ["Coffee & Tea", "Pets"]
# What a category rebuild decides (not when, nor which ledger rows: call ids differ per run).
COMPARED = {
    "products": ["product_id", "title", "content_hash", "product_type"],
    "product_clusters": ["product_id", "cluster_id", "signature"],
    "resolved_relations": ["head_id", "relation", "tail_mention", "decision", "tail_id", "resolution_score"],
    "validated_relations": ["head_id", "relation", "tail_mention", "tail_id", "gate_score", "reasons"],
    "rejected_relations": ["head_id", "relation", "tail_mention", "tail_id", "gate_score", "reasons"],
    "concepts": ["concept_id", "kind", "canonical_name", "mention_count"],
}


def _tables(data: Path) -> dict[str, pd.DataFrame]:
    with open_folder_warehouse(data) as conn:
        return {table: conn.execute(
            f"SELECT category, {', '.join(columns)} FROM {table} WHERE category IN (?, ?) "
            f"ORDER BY category, {', '.join(columns)}", CATEGORIES).df() for table, columns in COMPARED.items()}


def _wait_for(check, what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} did not come up within {timeout_s:.0f}s")


def test_the_category_rebuild_runs_on_two_celery_workers_and_equals_the_single_process_run(demo_run, tmp_path):
    import dagster as dg
    import redis

    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

    data, home, config = tmp_path / "data", tmp_path / "dagster_home", tmp_path / "celery_config"
    for folder in (data, home, config):
        folder.mkdir()
    copy_warehouse(demo_run.data, data)  # what the single-process demo run built
    expected = _tables(data)
    assert all(len(expected[t]) for t in COMPARED)
    with open_folder_warehouse(data) as conn:  # so the rebuild must write every row again
        for table in COMPARED:
            conn.execute(f"DELETE FROM {table} WHERE category IN (?, ?)", CATEGORIES)

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    processes = [subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
    (config / "dagster_celery_config.py").write_text(f"broker_url = {broker!r}\nresult_backend = {broker!r}\n")
    env = {**os.environ, "PKG_DATA_DIR": str(data), "DAGSTER_HOME": str(home), "PKG_EXECUTOR": "celery",
           "PKG_CELERY_BROKER": broker, "PYTHONPATH": os.pathsep.join([str(config), str(PROJECT_DIR)])}
    try:
        _wait_for(lambda: redis.Redis(port=port).ping(), "redis-server")
        instance = dg.DagsterInstance.from_config(str(home))
        instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, CATEGORIES)
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        for i, log in enumerate(logs, start=1):
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "dagster_celery.app", "worker", "--pool=solo",
                 "--prefetch-multiplier=1", "-n", f"worker{i}@%h", "--loglevel=INFO"],
                cwd=PROJECT_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT))
        from celery import Celery

        app = Celery("dagster", broker=broker, backend=broker)
        _wait_for(lambda: len(app.control.ping(timeout=1.0)) == 2, "two celery workers")

        code = "from pkg_assets_tests.conftest import launch_job; launch_job()"
        launchers = [subprocess.Popen([sys.executable, "-c", code, "category_rebuild_job", category],
                                      cwd=PROJECT_DIR, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for category in CATEGORIES]
        results = []
        for launcher in launchers:
            out, err = launcher.communicate(timeout=900)
            assert launcher.returncode == 0, err[-4000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        worker_logs = "\n".join(log.read_text() for log in logs)
        assert all(r["success"] for r in results), (results, worker_logs[-4000:])

        # Each run's steps were tasks taken by celery workers, and both workers took some.
        workers = set()
        for result in results:
            for record in instance.all_logs(result["run_id"]):
                event = record.dagster_event
                if event is not None and event.is_engine_event:
                    worker = event.event_specific_data.metadata.get("Celery worker")
                    if worker is not None:
                        workers.add(worker.value)
        assert {w.split("@")[0] for w in workers} == {"worker1", "worker2"}, workers
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    got = _tables(data)
    for table in COMPARED:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=False, rtol=1e-9, obj=table)
