"""Category runs at the same time on one warehouse: two worker processes, each running its own
categories' knowledge jobs as separate Dagster runs on a shared instance, while the other
writes. The published graph equals the one the sequential demo run publishes, and the ledger
holds every paid answer exactly once.

The ledger test below writes from two processes at once, with commits small enough that they
collide, while each also replaces its own category's rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pkg_assets_tests.conftest import _env
from pkg_assets.resources.warehouse import folder_lake, open_folder_warehouse, open_warehouse

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Columns that say what the graph is (not when it was built, nor which ledger rows back it:
# call ids are new uuids in every warehouse).
COMPARED = {
    "pkg_nodes": ("node_id", ["node_id", "node_type", "name", "kind", "brand", "price", "surface_forms"]),
    "pkg_edges": ("src_id, relation, dst_id", ["src_id", "relation", "dst_id", "dst_type", "sources", "weight",
                                               "gate_score", "confidence", "support", "lift", "rationale", "model",
                                               "prompt_version"]),
    "pkg_topk": ("src_id, relation, rank", ["src_id", "relation", "rank", "dst_id", "weight"]),
}


def run_jobs_worker() -> None:
    """`python -c ...run_jobs_worker()` JOB CATEGORY...: one run per category on the instance
    in DAGSTER_HOME; prints one JSON line per run (its id, category, start and end)."""
    import dagster as dg

    from pkg_assets.definitions import make_definitions

    job_name, categories = sys.argv[1], sys.argv[2:]
    instance = dg.DagsterInstance.get()
    job = make_definitions().resolve_job_def(job_name)
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    for category in categories:
        started = time.time()
        result = job.execute_in_process(instance=instance, partition_key=category, run_config=quiet,
                                        raise_on_error=False)
        print(json.dumps({"run_id": result.run_id, "category": category, "success": result.success,
                          "started": started, "ended": time.time()}), flush=True)
        if not result.success:
            raise SystemExit(f"{job_name} [{category}] failed (run {result.run_id})")


def _two_workers(job_name: str, groups: list[list[str]], env: dict) -> list[dict]:
    code = "from pkg_assets_tests.defs.test_concurrent_runs import run_jobs_worker; run_jobs_worker()"
    workers = [subprocess.Popen([sys.executable, "-c", code, job_name, *group], cwd=PROJECT_DIR, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for group in groups]
    runs = []
    for worker in workers:
        out, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, f"{job_name} worker failed:\n{err[-4000:]}"
        runs.append([json.loads(line) for line in out.splitlines() if line.startswith("{")])
    return runs


def _graph(data: Path) -> dict[str, pd.DataFrame]:
    import duckdb

    with duckdb.connect(str(data / "snapshot" / "pkg.duckdb"), read_only=True) as snapshot:
        return {table: snapshot.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").df()
                for table, (order, columns) in COMPARED.items()}


def _ledger(data: Path) -> pd.DataFrame:
    with open_folder_warehouse(data) as conn:
        return conn.execute("SELECT call_id, prompt_version, input_hash, status FROM llm_calls").df()


def test_two_category_runs_at_once_publish_the_graph_a_sequential_run_publishes(demo_run, tmp_path):
    """The demo fixture is the sequential run (run_pipeline: one category after another). Here
    the catalog is ingested the same way, then the knowledge runs of all seven categories go
    to two worker processes at once, and the graph is published."""
    import dagster as dg

    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME
    from pkg_assets.definitions import make_definitions

    concurrent = tmp_path / "concurrent"
    home = concurrent / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
    env = {**os.environ, "PKG_DATA_DIR": str(concurrent), "DAGSTER_HOME": str(home)}
    with _env({"PKG_DATA_DIR": str(concurrent), "DAGSTER_HOME": str(home)}):
        instance = dg.DagsterInstance.get()
        defs = make_definitions()
        categories = defs.resources["catalog"].categories()
        instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, categories)
        for job, partition in [("observe_catalog_job", None), *(("catalog_job", c) for c in categories),
                               ("interactions_job", None)]:
            assert defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition).success
        groups = [categories[0::2], categories[1::2]]
        first, second = _two_workers("knowledge_job", groups, env)
        assert defs.resolve_job_def("graph_job").execute_in_process(instance=instance).success
        recorded = {r.run_id for r in instance.get_runs()}

    assert [r["category"] for r in first + second] == groups[0] + groups[1]
    assert all(r["success"] and r["run_id"] in recorded for r in first + second)  # separate runs, recorded
    # The two workers' runs overlapped in time: they wrote the warehouse at once.
    assert first[0]["started"] < second[-1]["ended"] and second[0]["started"] < first[-1]["ended"]

    expected, got = _graph(demo_run.data), _graph(concurrent)
    for table in COMPARED:
        assert len(got[table]) == len(expected[table]) > 0, table
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=False, rtol=1e-9, obj=table)

    # Every answer the sequential run paid for was paid for once here too: none lost, none twice.
    ledger, baseline = _ledger(concurrent), _ledger(demo_run.data)
    assert ledger["call_id"].is_unique
    assert not ledger.duplicated(["prompt_version", "input_hash"]).any()
    assert set(zip(ledger["prompt_version"], ledger["input_hash"])) == set(
        zip(baseline["prompt_version"], baseline["input_hash"]))


def ledger_writer_worker() -> None:
    """`python -c ...ledger_writer_worker()` CATALOG DATA_PATH NAME N: N ledger rows through the
    ledger's own writer in commits of 5 while replacing this worker's category partition ten times."""
    import uuid
    from datetime import datetime

    from pkg_assets.resources.llm import LEDGER_COLUMNS, LedgerWriter
    from pkg_assets.resources.warehouse import WarehouseResource, replace_partition

    catalog, data_path, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    warehouse = WarehouseResource(catalog=catalog, data_path=data_path)
    writer = LedgerWriter(warehouse.connect_briefly, flush_s=0.005, max_batch=5)
    for i in range(count):
        row = dict.fromkeys(LEDGER_COLUMNS)
        row.update(call_id=f"{name}-{i}-{uuid.uuid4().hex[:6]}", model="m", prompt_name="p", prompt_version="p@1",
                   input_hash=f"{name}-{i}", partition=name, status="ok", created_at=datetime.now())
        writer.put(row)
        if i % (count // 10) == 0:
            with warehouse.connect() as conn:
                frame = pd.DataFrame({"category": name, "product_id": [f"{name}-{j}" for j in range(20)],
                                      "title": f"round {i}", "category_path": name, "content_hash": str(i)})
                replace_partition(conn, "products", frame, name)
        time.sleep(0.001)
    writer.close()
    print(json.dumps({"written": writer.written, "commits": writer.commits}), flush=True)


@pytest.mark.parametrize("catalog_kind", ["sqlite", "postgres"])
def test_the_ledger_takes_two_writer_processes_without_losing_or_duplicating_a_row(tmp_path, catalog_kind, request):
    """The default catalog (a SQLite file) and the scale-out one (PostgreSQL, skipped where absent)."""
    catalog, data_path = folder_lake(tmp_path)
    if catalog_kind == "postgres":
        catalog = request.getfixturevalue("postgres_server")()
    with open_warehouse(catalog, data_path):
        pass  # the tables exist before the writers start
    code = "from pkg_assets_tests.defs.test_concurrent_runs import ledger_writer_worker; ledger_writer_worker()"
    count = 400
    workers = [subprocess.Popen([sys.executable, "-c", code, catalog, data_path, name, str(count)], cwd=PROJECT_DIR,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("A", "B")]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-4000:]
        reports.append(json.loads(out.splitlines()[-1]))
    assert all(r["written"] == count and r["commits"] >= count / 5 / 2 for r in reports), reports
    with open_warehouse(catalog, data_path) as conn:
        rows = conn.execute("SELECT partition, count(*), count(DISTINCT call_id), count(DISTINCT input_hash) "
                            "FROM llm_calls GROUP BY partition ORDER BY partition").fetchall()
        products = conn.execute("SELECT category, count(*), count(DISTINCT title) FROM products "
                                "GROUP BY category ORDER BY category").fetchall()
    assert rows == [("A", count, count, count), ("B", count, count, count)]
    assert products == [("A", 20, 1), ("B", 20, 1)]  # each category holds exactly its last replacement


def test_the_project_instance_queues_runs_of_one_category_and_runs_categories_at_once(tmp_path):
    """dagster.yaml's queued run coordinator, judged by Dagster's own tag-limit counter: with a
    run of one category in progress, another run of it waits and a run of another category starts."""
    import shutil

    import dagster as dg
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    shutil.copy(PROJECT_DIR / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()

        @dg.op
        def noop():
            return None

        @dg.job
        def category_job():
            noop()

        def run(category: str):
            return instance.create_run_for_job(category_job, tags={"dagster/partition": category})

        queue = config.run_queue_config
        assert queue.max_concurrent_runs >= 4 and config.pool_config.default_pool_limit >= 2
        counter = TagConcurrencyLimitsCounter(queue.tag_concurrency_limits, [run("Pets")])
        assert counter.is_blocked(run("Pets")) and not counter.is_blocked(run("Baby"))


def test_a_category_run_on_the_multiprocess_executor_runs_each_step_in_a_process_of_its_own(demo_run, tmp_path):
    """PKG_EXECUTOR=multiprocess: the catalog run of one category, launched as Dagster launches
    runs (`execute_job` on a reconstructable job), runs each step in a child process of its own,
    and writes what the in-process demo run wrote."""
    import dagster as dg

    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME
    from pkg_assets.resources.warehouse import copy_warehouse

    data, home = tmp_path / "data", tmp_path / "dagster_home"
    for folder in (data, home):
        folder.mkdir()
    copy_warehouse(demo_run.data, data)
    compared = "SELECT product_id, title, content_hash FROM products WHERE category = 'Pets' ORDER BY product_id"
    with open_folder_warehouse(data) as conn:
        expected = conn.execute(compared).df()
        embedded = conn.execute("SELECT count(*) FROM product_embeddings WHERE category = 'Pets'").fetchall()[0][0]
        for table in ("products", "product_embeddings", "product_duplicates"):
            conn.execute(f"DELETE FROM {table} WHERE category = 'Pets'")
    (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
    instance = dg.DagsterInstance.from_config(str(home))
    instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, ["Pets"])
    env = {**os.environ, "PKG_DATA_DIR": str(data), "DAGSTER_HOME": str(home), "PKG_EXECUTOR": "multiprocess"}
    launcher = subprocess.Popen([sys.executable, "-c", "from pkg_assets_tests.conftest import launch_job; launch_job()",
                                 "catalog_job", "Pets"], cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    out, err = launcher.communicate(timeout=600)
    assert launcher.returncode == 0, err[-4000:]
    run = json.loads(out.strip().splitlines()[-1])
    assert run["success"]

    started = {record.dagster_event.step_key: record.dagster_event.pid
               for record in instance.all_logs(run["run_id"], of_type=dg.DagsterEventType.STEP_START)}
    assert set(started) == {"products", "product_embeddings", "product_duplicates"}
    assert len(set(started.values())) == 3 and launcher.pid not in started.values()  # a process per step
    with open_folder_warehouse(data) as conn:
        pd.testing.assert_frame_equal(conn.execute(compared).df(), expected)
        assert conn.execute("SELECT count(*) FROM product_embeddings WHERE category = 'Pets'").fetchall()[0][0] == embedded
