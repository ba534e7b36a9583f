"""Catalog changes never wedge the graph: a category renamed between two runs and a product
removed leave every table, the partitions and the next snapshot."""

import dagster as dg
import duckdb

from pkg_assets_tests.conftest import _env
from pkg_assets.resources.warehouse import open_folder_warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
GRAPH = ["interactions", "behavior_edges", "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot"]


def _write(folder, garden_name: str, kitchen: int):
    rows = ["product_id,title,category_path,description"]
    rows += [f'K{i:03d},"Kettle Model {i} Steel",Home > Kitchen,"A kettle"' for i in range(kitchen)]
    rows += [f'G{i:03d},"Garden Hose {i}",Home > {garden_name},"A hose"' for i in range(3)]
    (folder / "products.csv").write_text("\n".join(rows) + "\n")
    # Each user buys a kettle, then a hose, then the next kettle: behaviour links every product.
    events = ["user_id,product_id,position"]
    for user in range(12):
        for position, pid in enumerate([f"K{user % kitchen:03d}", f"G{user % 3:03d}", f"K{(user + 1) % kitchen:03d}"]):
            events.append(f"u{user},{pid},{position}")
    (folder / "interactions.csv").write_text("\n".join(events) + "\n")


def _materialise(defs, instance, assets, partition=None):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey(a) for a in assets})
    result = job.execute_in_process(instance=instance, partition_key=partition, run_config=QUIET,
                                    raise_on_error=False)
    assert result.success, [e.event_specific_data.error.cause.message for e in result.all_events if e.is_step_failure]
    return result


def _sense(defs, instance):
    sensor = defs.get_sensor_def("category_sensor")
    with dg.build_sensor_context(instance=instance, resources={"catalog": defs.resources["catalog"]}) as context:
        result = sensor(context)
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)


def test_a_renamed_category_and_a_removed_product_leave_every_table_and_the_snapshot(tmp_path):
    from pkg_assets.definitions import make_definitions

    catalog = tmp_path / "shop"
    catalog.mkdir()
    data = tmp_path / "data"
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_DATA_DIR": str(data)}
    instance = dg.DagsterInstance.ephemeral()

    _write(catalog, "Garden", kitchen=5)
    with _env(env):
        defs = make_definitions()
        _sense(defs, instance)
        assert sorted(instance.get_dynamic_partitions("category")) == ["Garden", "Kitchen"]
        for category in ("Garden", "Kitchen"):
            _materialise(defs, instance, ["products", "product_embeddings"], category)
        _materialise(defs, instance, GRAPH)

    # Next day: Garden is called Outdoor, and K004 is no longer sold.
    _write(catalog, "Outdoor", kitchen=4)
    with _env(env):
        defs = make_definitions()
        _sense(defs, instance)
        assert sorted(instance.get_dynamic_partitions("category")) == ["Kitchen", "Outdoor"]
        for category in ("Kitchen", "Outdoor"):
            _materialise(defs, instance, ["products", "product_embeddings"], category)
        _materialise(defs, instance, GRAPH)

    with open_folder_warehouse(data) as conn:
        assert conn.execute("SELECT category, count(*) FROM products GROUP BY 1 ORDER BY 1").fetchall() == [
            ("Kitchen", 4), ("Outdoor", 3)]
        assert conn.execute("SELECT category, count(*) FROM product_embeddings GROUP BY 1 ORDER BY 1").fetchall() == [
            ("Kitchen", 4), ("Outdoor", 3)]
    with duckdb.connect(str(data / "snapshot" / "pkg.duckdb"), read_only=True) as snapshot:
        nodes = dict(snapshot.execute("SELECT node_id, kind FROM pkg_nodes WHERE node_type = 'product'").fetchall())
    assert "K004" not in nodes and len(nodes) == 7
    assert {nodes[f"G{i:03d}"] for i in range(3)} == {"Outdoor"}


def test_a_warehouse_refuses_a_run_from_another_catalog_unless_replace_is_asked(tmp_path):
    from pkg_assets.definitions import make_definitions

    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        _write(folder, "Garden", kitchen=2)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("category", ["Kitchen"])
    data = {"PKG_DATA_DIR": str(tmp_path / "data")}
    with _env({**data, "PKG_CATALOG_PATH": str(first)}):
        _materialise(make_definitions(), instance, ["products"], "Kitchen")
    with _env({**data, "PKG_CATALOG_PATH": str(second)}):
        defs = make_definitions()
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("products")})
        result = job.execute_in_process(instance=instance, partition_key="Kitchen", run_config=QUIET, raise_on_error=False)
        assert not result.success
        message = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
        assert f"built from the catalog {first.resolve()}" in message and "PKG_DATA_DIR" in message
    with _env({**data, "PKG_CATALOG_PATH": str(second), "PKG_REPLACE_WAREHOUSE": "1"}):
        _materialise(make_definitions(), instance, ["products"], "Kitchen")
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT value FROM warehouse_info").fetchall() == [(str(second.resolve()),)]
