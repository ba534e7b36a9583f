"""The fused product knowledge graph and its published read-only snapshot."""


import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
from pydantic import Field

from pkg_assets import settings
from pkg_assets.defs.automation import GRAPH_AUTOMATION, SNAPSHOT_FRESHNESS
from pkg_assets.defs.behavior.assets import behavior_edges
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.resources.warehouse import WarehouseResource, replace_table, scalar, sql_text

SNAPSHOT_TABLES = ("pkg_nodes", "pkg_edges", "pkg_topk")
# The snapshot keeps the warehouse's DDL plus the keys of sql/snapshot_keys.sql (a reader
# can rely on one row per key) and stores rows in key order, so zone maps let a product's
# lookup skip most of the file.
SNAPSHOT_ORDER = {"pkg_nodes": "node_id", "pkg_edges": "src_id, relation, dst_id", "pkg_topk": "src_id, relation, rank"}


@dg.asset(
    group_name="graph",
    automation_condition=GRAPH_AUTOMATION,
    deps=["products", "concepts", "validated_relations", "cluster_knowledge"],
    kinds={"duckdb"},
    pool="duckdb",
    description="Graph nodes: every product, and every concept an accepted edge names, merged across "
    "categories (a concept only rejected edges name is never published).",
)
def pkg_nodes(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        rows = replace_table(conn, "pkg_nodes", select_sql=sql_text("pkg_nodes_build"))
        types = conn.execute("SELECT node_type FROM pkg_nodes").df()["node_type"]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "by_type": counts_table(types, "node_type")})


@dg.asset(
    group_name="graph",
    automation_condition=GRAPH_AUTOMATION,
    deps=["validated_relations", "cluster_knowledge", "product_clusters", behavior_edges, pkg_nodes],
    kinds={"duckdb"},
    pool="duckdb",
    description="The fused graph: gated LLM edges (individual and collective) and behaviour edges, "
    "one row per (src, relation, dst) with sources, evidence, model, prompt version, gate score, weight.",
)
def pkg_edges(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        rows = replace_table(conn, "pkg_edges", select_sql=sql_text("pkg_edges_build"))
        frame = conn.execute("SELECT relation, sources FROM pkg_edges").df()
        sample = conn.execute("SELECT * FROM pkg_edges ORDER BY weight DESC LIMIT 10").df()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "by_relation": counts_table(frame["relation"], "relation"),
        "by_sources": counts_table(frame["sources"].map(lambda s: "+".join(s)), "sources"),
        "strongest": preview(sample, ["src_id", "relation", "dst_id", "sources", "weight"]),
    })


class TopKConfig(dg.Config):
    k: int = Field(default=20, description="neighbours kept per (product, relation)")


@dg.asset(
    group_name="graph",
    automation_condition=GRAPH_AUTOMATION,
    deps=[pkg_edges],
    kinds={"duckdb"},
    pool="duckdb",
    description="Precomputed top-k product neighbours per (product, relation) and over all relations ('*').",
)
def pkg_topk(config: TopKConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        rows = replace_table(conn, "pkg_topk", select_sql=sql_text("pkg_topk_build"), params={"k": config.k})
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "k": config.k})


ORPHAN_AGE_S = 600  # a temp file untouched this long belongs to no publish in progress


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sweep_orphans(target: Path, older_than_s: float = ORPHAN_AGE_S) -> list[Path]:
    """Temp files (and their WALs) of publishes that were killed before the rename: removed
    once they are old enough that no publish can still be writing them."""
    cutoff = time.time() - older_than_s
    swept = []
    for path in target.parent.glob(f".{target.name}.*.tmp*"):
        if path.suffix in (".tmp", ".wal") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            swept.append(path)
    return swept


def publish_snapshot(conn, target: Path) -> dict:
    """Copy the graph tables and views into a new DuckDB file, then rename it into place.

    Readers holding the old file open keep reading it (POSIX rename); new readers see the
    complete new graph. A failure before the rename leaves the published file untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(target)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    alias = "snapshot_build"
    # The warehouse's catalog name is its file stem ("my-warehouse"): quoted, never interpolated bare.
    home = quote_identifier(scalar(conn, "SELECT current_database()"))
    conn.execute(f"ATTACH '{str(temp).replace(chr(39), chr(39) * 2)}' AS {alias}")
    try:
        conn.execute(f"USE {alias}")
        try:
            for table in SNAPSHOT_TABLES:  # the warehouse's DDL
                conn.execute((settings.sql_dir() / "tables" / f"{table}.sql").read_text())
                conn.execute(f"INSERT INTO {alias}.{table} BY NAME "
                             f"SELECT * FROM {home}.{table} ORDER BY {SNAPSHOT_ORDER[table]}")
            conn.execute(sql_text("snapshot_keys"))
            for view in sorted((settings.sql_dir() / "views").glob("*.sql")):
                conn.execute(view.read_text())
            conn.execute(
                "CREATE TABLE snapshot_info AS SELECT now()::TIMESTAMP AS published_at, "
                "(SELECT count(*) FROM pkg_nodes) AS n_nodes, (SELECT count(*) FROM pkg_edges) AS n_edges"
            )
        finally:
            conn.execute(f"USE {home}")
        counts = {t: scalar(conn, f"SELECT count(*) FROM {alias}.{t}") for t in SNAPSHOT_TABLES}
        conn.execute(f"DETACH {alias}")
        os.replace(temp, target)
    except BaseException:
        try:
            conn.execute(f"DETACH {alias}")
        except Exception:
            pass
        temp.unlink(missing_ok=True)
        Path(str(temp) + ".wal").unlink(missing_ok=True)
        raise
    return counts


class SnapshotConfig(dg.Config):
    path: str = Field(default="", description="where to publish (default: PKG_SNAPSHOT or <data dir>/snapshot/pkg.duckdb)")


@dg.asset(
    group_name="graph",
    automation_condition=GRAPH_AUTOMATION,
    freshness_policy=SNAPSHOT_FRESHNESS,
    deps=[pkg_nodes, pkg_edges, pkg_topk],
    kinds={"duckdb"},
    pool="duckdb",
    description="The published read-only graph: a DuckDB file with pkg_nodes, pkg_edges, pkg_topk and the "
    "views in sql/views, built to a temp file and renamed into place (readers never see a partial graph).",
)
def pkg_snapshot(context: dg.AssetExecutionContext, config: SnapshotConfig,
                 warehouse: WarehouseResource) -> dg.MaterializeResult:
    target = Path(config.path or settings.snapshot_path()).expanduser().resolve()
    with warehouse.connect() as conn:
        counts = publish_snapshot(conn, target)
        size = target.stat().st_size
        conn.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?)",
            [datetime.now(timezone.utc).replace(tzinfo=None), str(target), counts["pkg_nodes"], counts["pkg_edges"], size],
        )
    context.log.info(f"published {target} ({counts['pkg_edges']} edges, {size / 1e6:.1f} MB)")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(target)),
        "bytes": size,
        **{f"{t}_rows": n for t, n in counts.items()},
        "query": dg.MetadataValue.md(
            f"```python\nimport duckdb\ncon = duckdb.connect({str(target)!r}, read_only=True)\n"
            "con.sql(\"SELECT * FROM related_products WHERE product_id = ? AND relation = '*'\", params=[pid])\n```"
        ),
    })
