"""Small things that used to crash: a warehouse file whose name is not an identifier, orphan
temp files of killed publishes, and an evaluation over a graph with no edges."""

import os
import time

import dagster as dg
import duckdb
import pandas as pd

from pkg_assets.defs.evaluation.assets import graph_evaluation
from pkg_assets.defs.graph.assets import publish_snapshot
from pkg_assets.resources.warehouse import WarehouseResource, ensure_tables, open_folder_warehouse


def _warehouse(path):
    with duckdb.connect(str(path)) as conn:
        ensure_tables(conn)
        conn.execute("INSERT INTO pkg_nodes (node_id, node_type, name, kind, built_at) "
                     "VALUES ('P1', 'product', 'Kettle', 'Kitchen', now())")


def test_a_warehouse_named_like_my_warehouse_publishes(tmp_path):
    _warehouse(tmp_path / "my-warehouse.duckdb")
    target = tmp_path / "snapshot" / "pkg.duckdb"
    with duckdb.connect(str(tmp_path / "my-warehouse.duckdb")) as conn:
        counts = publish_snapshot(conn, target)
    assert counts["pkg_nodes"] == 1
    with duckdb.connect(str(target), read_only=True) as snapshot:
        assert snapshot.execute("SELECT name FROM pkg_nodes").fetchall() == [("Kettle",)]


def test_orphans_of_killed_publishes_are_swept_and_fresh_ones_kept(tmp_path):
    _warehouse(tmp_path / "w.duckdb")
    target = tmp_path / "snapshot" / "pkg.duckdb"
    target.parent.mkdir()
    old = [target.with_name(".pkg.duckdb.0123abcd.tmp"), target.with_name(".pkg.duckdb.0123abcd.tmp.wal")]
    fresh = target.with_name(".pkg.duckdb.fedc9876.tmp")  # maybe a publish in progress elsewhere
    for path in [*old, fresh]:
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    for path in old:
        os.utime(path, (an_hour_ago, an_hour_ago))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        publish_snapshot(conn, target)
    assert not any(path.exists() for path in old) and fresh.exists() and target.exists()


def test_graph_evaluation_on_a_graph_with_no_edges(tmp_path):
    with open_folder_warehouse(tmp_path) as conn:
        conn.execute("INSERT INTO products (product_id, title, category, category_path, content_hash) VALUES "
                     "('A', 'Kettle', 'Kitchen', 'Home > Kitchen', 'a'), ('B', 'Toaster', 'Kitchen', 'Home > Kitchen', 'b')")
        # Two events per user: training keeps one item each, so behaviour mines no pair at all.
        frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "session_id": ["s1", "s1", "s2", "s2"],
                              "product_id": ["A", "B", "B", "A"], "position": [0, 1, 0, 1]})
        conn.register("events", frame)
        conn.execute("INSERT INTO interactions BY NAME SELECT * FROM events")
    result = dg.materialize([graph_evaluation], resources={"warehouse": WarehouseResource.in_folder(tmp_path)},
                            raise_on_error=False)
    assert result.success
    metadata = result.asset_materializations_for_node("graph_evaluation")[0].metadata
    assert metadata["evaluation_graph_edges"].value == 0 and metadata["test_users"].value == 2
