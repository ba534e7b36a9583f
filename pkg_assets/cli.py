"""Command-line entry points.

`pkg-demo`        materialise every asset on the configured catalog (default: the embedded
                  demo; `--catalog PATH [--interactions PATH]` for your own) in a Dagster
                  instance, publish the graph, print a summary and the evaluation table.
`pkg-recordings`  list the recorded LLM answers the configured catalog needs that are
                  missing or stale (recorded against another prompt version).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from pkg_assets import settings


def _quiet_run_config(level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def run_pipeline(instance, defs, log=None, log_level: str = "WARNING") -> dict:
    """Materialise every asset in dependency order: catalog, interactions, knowledge, graph.

    Returns figures about the run. Raises if any step fails (the failing run's id and
    error are in the Dagster instance, visible in the UI).
    """
    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    from pkg_assets.resources.progress import watch_steps

    log = log or (lambda line: print(line, flush=True))
    catalog = defs.resources["catalog"]
    run_config = _quiet_run_config(log_level)
    started = time.perf_counter()
    # In-process runs have no code location of their own, and the UI lists a job's runs by the
    # repository label of the location that launched them: give them the one `dg dev` serves,
    # so the Jobs page shows the CLI's runs in each job's history.
    tags = {REPOSITORY_LABEL_TAG: f"__repository__@{settings.CODE_LOCATION}"}

    def execute(job_name: str, partition_key: str | None = None) -> None:
        job = defs.resolve_job_def(job_name)
        step_started = time.perf_counter()
        where = f" [{partition_key}]" if partition_key else ""
        log(f"  {job_name}{where} ...")
        run_id = str(uuid.uuid4())
        with watch_steps(instance, run_id, log, every_s=9.0):  # step ends; a line at least every 10 s of a long one
            result = job.execute_in_process(instance=instance, partition_key=partition_key, run_config=run_config,
                                            tags=tags, run_id=run_id, raise_on_error=False)
        if not result.success:
            raise RuntimeError(f"{job_name}{where} failed (run {result.run_id}): {failure_cause(result)}")
        log(f"  {job_name}{where}: ok in {time.perf_counter() - step_started:.1f}s  {rows_written(result)}")

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
    _require_graph_inputs()
    execute("graph_job")
    return {"wall_s": time.perf_counter() - started, "categories": len(categories)}


def _require_graph_inputs() -> None:
    """A graph needs behaviour or accepted knowledge; say which input is missing instead of
    letting the `pkg_edges` suite refuse an empty graph."""
    from pkg_assets.resources.warehouse import open_warehouse, scalar

    with open_warehouse() as conn:
        events = scalar(conn, "SELECT count(*) FROM interactions")
        accepted = scalar(conn, "SELECT count(*) FROM validated_relations")
    if not events and not accepted:
        raise RuntimeError(
            "nothing to build a graph from: the catalog has no interactions (give --interactions PATH or "
            "PKG_INTERACTIONS_PATH) and no accepted LLM knowledge (set PKG_LLM_MODEL; see `llm_missing_reason` "
            "in llm_relations' metadata)")


def failure_cause(result) -> str:
    """The failed step and its own message (a `dg.Failure`'s description, else the error's first
    line), not Dagster's generic "Execution of step ... failed"."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = error
            while cause.cause is not None and "Error occurred while executing" in cause.message:
                cause = cause.cause
            message = cause.message.strip()
            message = message.split(": ", 1)[1] if message.split(": ", 1)[0].endswith(("Failure", "Error")) else message
            return f"step {event.step_key}: {message.splitlines()[0] if message else error.message}"
    failures = [e.message for e in result.all_events if e.is_failure]
    return failures[-1] if failures else "unknown failure (see the run in the Dagster UI)"


def rows_written(result) -> str:
    """"products 120 · product_embeddings 120 · ...": the row count each asset materialised."""
    parts = []
    for event in result.get_asset_materialization_events():
        rows = event.materialization.metadata.get("dagster/row_count")
        if rows is not None:
            parts.append(f"{event.asset_key.to_user_string()} {rows.value:,}")
    return ("rows: " + " · ".join(parts)) if parts else ""


def evaluation_table() -> str:
    """The leave-last-out table of `graph_evaluation` (all users): every recommender at 10 and 20."""
    from pkg_assets.resources.warehouse import open_warehouse

    with open_warehouse() as conn:
        rows = conn.execute(
            "SELECT recommender, metric, k, value, n_users FROM graph_evaluation "
            "WHERE k IS NOT NULL AND coalesce(segment, 'all') = 'all'").fetchall()
    if not rows:
        return "no evaluation: the catalog has no interactions (or too few users with two events)"
    found = {(r, m, k): v for r, m, k, v, _ in rows}
    lines = [f"leave-last-out over {rows[0][4]:,} users, all items ranked, history excluded",
             f"{'recommender':18} {'Recall@10':>10} {'NDCG@10':>9} {'Recall@20':>10} {'NDCG@20':>9}"]
    for name in ("popularity", "cooccurrence_knn", "graph_behaviour", "graph_fused"):
        if (name, "recall", 10) in found:
            lines.append(f"{name:18} {found[(name, 'recall', 10)]:>10.4f} {found[(name, 'ndcg', 10)]:>9.4f} "
                         f"{found[(name, 'recall', 20)]:>10.4f} {found[(name, 'ndcg', 20)]:>9.4f}")
    return "\n".join(lines)


def summarise(snapshot: Path) -> dict:
    import duckdb

    from pkg_assets.resources.warehouse import open_warehouse, scalar

    with open_warehouse() as conn:
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
            "pairs_interpreted": one("SELECT count(*) FROM interpreted_relations"),
            "pairs_typed": one("SELECT count(*) FROM interpreted_relations WHERE outcome = 'typed'"),
            "interpreted_edges_published": one(
                "SELECT count(*) FROM pkg_edges WHERE list_contains(sources, 'llm_interpreted')"),
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


def _use_own_catalog(catalog: str, interactions: str | None) -> None:
    """Point the run at a user's catalog. Unless PKG_DATA_DIR / DAGSTER_HOME say otherwise, it
    gets a warehouse and a Dagster instance of its own, beside the demo's, so two catalogs never
    mix (`.pkg_data/catalogs/<name>-<hash of its path>/`)."""
    import hashlib
    import re
    import shutil

    path = Path(catalog).expanduser().resolve()
    if not path.exists():
        raise SystemExit(f"pkg-demo: --catalog {catalog} does not exist")
    if interactions and not Path(interactions).expanduser().exists():
        raise SystemExit(f"pkg-demo: --interactions {interactions} does not exist")
    os.environ["PKG_CATALOG_PATH"] = str(path)
    if interactions:
        os.environ["PKG_INTERACTIONS_PATH"] = str(Path(interactions).expanduser().resolve())
    if "PKG_DATA_DIR" not in os.environ and "PKG_WAREHOUSE_CATALOG" not in os.environ:
        name = re.sub(r"[^A-Za-z0-9]+", "-", path.name.split(".")[0]).strip("-").lower() or "catalog"
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        os.environ["PKG_DATA_DIR"] = str(settings.PROJECT_DIR / ".pkg_data" / "catalogs" / f"{name}-{digest}")
    if "DAGSTER_HOME" not in os.environ:
        home = settings.data_dir() / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():  # the project's instance settings (run monitoring, pools)
            shutil.copy(settings.PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)


def _check_warehouse_catalog(catalog_path: str) -> None:
    """Refuse, before any run, a warehouse built from another catalog (unless --replace)."""
    from pkg_assets.resources.warehouse import (
        WarehouseCatalogMismatch, catalog_identity, describe_warehouse, open_warehouse, replace_requested, scalar,
        warehouse_exists)

    if replace_requested() or not warehouse_exists():
        return
    with open_warehouse() as conn:
        held = scalar(conn, "SELECT value FROM warehouse_info WHERE key = 'catalog_path'")
    if held is not None and held != catalog_identity(catalog_path):
        raise WarehouseCatalogMismatch(
            f"the warehouse {describe_warehouse()} was built from the catalog {held}, not {catalog_identity(catalog_path)}. "
            "Give this catalog its own PKG_DATA_DIR and DAGSTER_HOME (`pkg-demo --catalog PATH` without them set "
            "does so by itself), or pass --replace to rebuild this warehouse from it")


def demo_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkg-demo", description=__doc__.splitlines()[2].strip())
    parser.add_argument("--catalog", metavar="PATH",
                        help="your catalog file or folder (any format README 'Your own catalog' lists); "
                        "default: PKG_CATALOG_PATH, else the embedded demo")
    parser.add_argument("--interactions", metavar="PATH", help="your interactions file (default: beside the catalog)")
    parser.add_argument("--replace", action="store_true",
                        help="let this catalog replace the one the warehouse was built from (one catalog, one warehouse)")
    parser.add_argument("--ephemeral", action="store_true", help="use a throwaway Dagster instance (UI will not show the runs)")
    parser.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    args = parser.parse_args(argv)
    if args.replace:
        os.environ["PKG_REPLACE_WAREHOUSE"] = "1"
    if args.interactions and not args.catalog:
        parser.error("--interactions needs --catalog")
    if args.catalog:
        _use_own_catalog(args.catalog, args.interactions)
    # Long steps (embedding, LLM batches) print progress lines here at least every 10 s.
    os.environ.setdefault("PKG_CONSOLE_PROGRESS", "1")

    import dagster as dg

    from pkg_assets.definitions import make_definitions

    home = None if args.ephemeral else _prepare_dagster_home()
    instance = dg.DagsterInstance.ephemeral() if args.ephemeral else dg.DagsterInstance.get()
    defs = make_definitions()
    llm = defs.resources["llm"]
    print(f"catalog: {settings.catalog_path()}")
    print(f"llm model: {llm.model}   warehouse: {defs.resources['warehouse'].describe()}", flush=True)
    legacy = settings.legacy_warehouse_path()
    if legacy.exists():
        print(f"note: {legacy} is a warehouse from before the DuckLake move (duckdb 2 format). It is left "
              "untouched and no longer read; this warehouse is built anew beside it (its LLM answers are "
              "asked again unless recordings hold them).", flush=True)
    try:
        llm.preflight()  # a missing key or an unreachable base fails now, not after the catalog phase
        _check_warehouse_catalog(defs.resources["catalog"].path)
    except Exception as exc:  # noqa: BLE001 - LLMConfigurationError / mismatch: one line, what to set
        print(f"\nFAILED before any run: {getattr(exc, 'description', None) or exc}", file=sys.stderr)
        return 1
    try:
        run = run_pipeline(instance, defs, log_level="DEBUG" if args.verbose else "WARNING")
    except Exception as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    figures = summarise(settings.snapshot_path())
    print("\n== summary ==")
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"demo_wall_s: {run['wall_s']:.1f}")
    print("\n== evaluation ==")
    print(evaluation_table())
    print(f"snapshot: {settings.snapshot_path()}")
    print(
        f"\nquery it:  {sys.executable} -c \"import duckdb; c = duckdb.connect('"
        f"{settings.snapshot_path()}', read_only=True); "
        "print(c.sql('SELECT * FROM related_products WHERE relation = \\'*\\' LIMIT 10'))\""
    )
    print(f"serve it:  {Path(sys.executable).with_name('pkg-serve')} --snapshot {settings.snapshot_path()} --port 8000"
          "   (then http://127.0.0.1:8000/related/<product_id>)")
    if home is not None:
        own = (f"PKG_CATALOG_PATH={settings.catalog_path()} PKG_DATA_DIR={settings.data_dir()} "
               + (f"PKG_INTERACTIONS_PATH={os.environ['PKG_INTERACTIONS_PATH']} " if args.interactions else "")
               if args.catalog else "")
        print(f"open the UI:  {own}DAGSTER_HOME={home} .venv/bin/dg dev   (then http://127.0.0.1:3000)")
    return 0


def recordings_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkg-recordings",
                                     description="List recorded LLM answers the catalog needs that are missing or stale.")
    parser.add_argument("--all", action="store_true", help="list every needed recording, not only problems")
    args = parser.parse_args(argv)

    from pkg_assets.recordings import audit, needed_recordings, stored_embeddings
    from pkg_assets.resources.catalog import CatalogResource
    from pkg_assets.resources.embedder import EmbedderResource
    from pkg_assets.resources.llm import LLMResource

    catalog = CatalogResource.from_env()
    products = catalog.read_products().products
    interactions = catalog.read_interactions(set(products["product_id"])).kept
    embedder = EmbedderResource()
    stored = stored_embeddings(embedder.model_name)
    needed = needed_recordings(products, embedder, stored, interactions)
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
    if missing or stale:
        print("pkg-recordings: recordings are missing or stale: record answers for the lines above "
              "(or run with a real model and PKG_LLM_MODEL), then check again", file=sys.stderr)
    return 1 if missing or stale else 0


def _exit(code: int) -> None:
    """Exit without interpreter finalisation.

    Interpreter shutdown after a Dagster run that loaded torch tears modules down under objects
    still referenced (duckdb 2.0's bindings printed pages of "leaked instance" reports then;
    harmless, but it buried the summary). Everything is flushed and closed by now, so skip
    finalisation.
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
