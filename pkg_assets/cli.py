"""Command-line entry points.

`pkg-demo`        materialise every asset on the configured catalog (default: the embedded
                  demo) in a Dagster instance, publish the graph, print a summary.
`pkg-recordings`  list the recorded LLM answers the configured catalog needs that are
                  missing or stale (recorded against another prompt version).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pkg_assets import settings


def _quiet_run_config(level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def run_pipeline(instance, defs, log=print, log_level: str = "WARNING") -> dict:
    """Materialise every asset in dependency order: catalog, interactions, knowledge, graph.

    Returns figures about the run. Raises if any step fails (the failing run's id and
    error are in the Dagster instance, visible in the UI).
    """
    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

    catalog = defs.resources["catalog"]
    run_config = _quiet_run_config(log_level)
    started = time.perf_counter()

    def execute(job_name: str, partition_key: str | None = None) -> None:
        job = defs.resolve_job_def(job_name)
        step_started = time.perf_counter()
        result = job.execute_in_process(instance=instance, partition_key=partition_key, run_config=run_config,
                                        raise_on_error=False)
        where = f" [{partition_key}]" if partition_key else ""
        if not result.success:
            failures = [e.message for e in result.all_events if e.is_failure]
            raise RuntimeError(f"{job_name}{where} failed (run {result.run_id}):\n" + "\n".join(failures[-3:]))
        log(f"  {job_name}{where}: ok in {time.perf_counter() - step_started:.1f}s")

    execute("observe_catalog_job")
    categories = catalog.categories()
    known = set(instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME))
    new = [c for c in categories if c not in known]
    if new:
        instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, new)
    log(f"categories ({len(categories)}): {', '.join(categories)}")
    for category in categories:
        execute("catalog_job", category)
    execute("interactions_job")
    for category in categories:
        execute("knowledge_job", category)
    execute("graph_job")
    return {"wall_s": time.perf_counter() - started, "categories": len(categories)}


def summarise(warehouse_path: Path, snapshot: Path) -> dict:
    import duckdb

    from pkg_assets.resources.warehouse import scalar

    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        def one(sql: str):
            return scalar(conn, sql)

        figures = {
            "products": one("SELECT count(*) FROM products"),
            "products_rejected": one("SELECT count(*) FROM products_rejected"),
            "interactions": one("SELECT count(*) FROM interactions"),
            "users": one("SELECT count(DISTINCT user_id) FROM interactions"),
            "llm_calls_ledger": one("SELECT count(*) FROM llm_calls"),
            "llm_invalid_answers": one("SELECT count(*) FROM llm_calls WHERE status = 'invalid'"),
            "relations_proposed": one("SELECT count(*) FROM llm_relations"),
            "edges_gated": one("SELECT (SELECT count(*) FROM validated_relations) + (SELECT count(*) FROM rejected_relations)"),
            "relations_accepted": one("SELECT count(*) FROM validated_relations"),
            "relations_rejected": one("SELECT count(*) FROM rejected_relations"),
            "concepts": one("SELECT count(DISTINCT concept_id) FROM concepts"),
            "clusters": one("SELECT count(DISTINCT cluster_id) FROM product_clusters"),
            "behavior_edges": one("SELECT count(*) FROM behavior_edges"),
            "pkg_nodes": one("SELECT count(*) FROM pkg_nodes"),
            "pkg_edges": one("SELECT count(*) FROM pkg_edges"),
        }
        evaluation = conn.execute(
            "SELECT recommender, value FROM graph_evaluation WHERE metric = 'ndcg' AND k = 10 "
            "AND coalesce(segment, 'all') = 'all' ORDER BY recommender"
        ).fetchall()
    figures.update({f"ndcg10_{name}": round(value, 4) for name, value in evaluation})
    with duckdb.connect(str(snapshot), read_only=True) as snap:
        figures["snapshot_edges"] = scalar(snap, "SELECT count(*) FROM pkg_edges")
    return figures


def _prepare_dagster_home() -> Path:
    """Use DAGSTER_HOME if set, else the project folder (whose dagster.yaml the UI uses too)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.PROJECT_DIR))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def demo_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkg-demo", description=__doc__.splitlines()[2])
    parser.add_argument("--ephemeral", action="store_true", help="use a throwaway Dagster instance (UI will not show the runs)")
    parser.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    args = parser.parse_args(argv)

    import dagster as dg

    from pkg_assets.definitions import make_definitions

    home = None if args.ephemeral else _prepare_dagster_home()
    instance = dg.DagsterInstance.ephemeral() if args.ephemeral else dg.DagsterInstance.get()
    defs = make_definitions()
    llm = defs.resources["llm"]
    print(f"catalog: {settings.catalog_path()}")
    print(f"llm model: {llm.model}   warehouse: {settings.warehouse_path()}")
    try:
        run = run_pipeline(instance, defs, log_level="DEBUG" if args.verbose else "WARNING")
    except Exception as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    figures = summarise(settings.warehouse_path(), settings.snapshot_path())
    print("\n== summary ==")
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"demo_wall_s: {run['wall_s']:.1f}")
    print(f"snapshot: {settings.snapshot_path()}")
    print(
        f"\nquery it:  {sys.executable} -c \"import duckdb; c = duckdb.connect('"
        f"{settings.snapshot_path()}', read_only=True); "
        "print(c.sql('SELECT * FROM related_products WHERE relation = \\'*\\' LIMIT 10'))\""
    )
    print(f"serve it:  {Path(sys.executable).with_name('pkg-serve')} --snapshot {settings.snapshot_path()} --port 8000"
          "   (then http://127.0.0.1:8000/related/<product_id>)")
    if home is not None:
        print(f"open the UI:  DAGSTER_HOME={home} .venv/bin/dagster dev   (then http://127.0.0.1:3000)")
    return 0


def recordings_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkg-recordings",
                                     description="List recorded LLM answers the catalog needs that are missing or stale.")
    parser.add_argument("--all", action="store_true", help="list every needed recording, not only problems")
    args = parser.parse_args(argv)

    from pkg_assets.recordings import audit, needed_recordings
    from pkg_assets.resources.catalog import CatalogResource
    from pkg_assets.resources.embedder import EmbedderResource
    from pkg_assets.resources.llm import LLMResource

    products, _ = CatalogResource.from_env().read_products()
    needed = needed_recordings(products, EmbedderResource())
    paths = [Path(p) for p in LLMResource.from_env().recordings]
    missing, stale = audit(needed, paths)
    problems = {id(n): "missing" for n in missing} | {id(n): "stale" for n in stale}
    for need in needed:
        state = problems.get(id(need), "ok")
        if args.all or state != "ok":
            members = f"  members={','.join(need.members)}" if need.members else ""
            print(f"{state:8} {need.prompt:22} {need.key:32} {need.category}{members}")
    print(f"needed: {len(needed)}  missing: {len(missing)}  stale: {len(stale)}  "
          f"(recordings: {', '.join(str(p) for p in paths)})")
    return 1 if missing else 0


def _exit(code: int) -> None:
    """Exit without interpreter finalisation.

    duckdb 2.0's nanobind bindings print pages of "leaked instance" reports at interpreter
    shutdown after a Dagster run that loaded torch (objects still referenced when modules
    are torn down; harmless, but it buries the summary). Everything is flushed and closed
    by now, so skip finalisation.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def demo_entry() -> None:
    _exit(demo_main())


def recordings_entry() -> None:
    _exit(recordings_main())


if __name__ == "__main__":
    demo_entry()
