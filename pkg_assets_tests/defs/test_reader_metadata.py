"""Every reader decision is counted in the materialisation's metadata and kept in the warehouse:
a messy catalog of our own (markup titles, junk prices, zero-width titles, a bad JSON line,
Unix-second timestamps) through the real `products` and `interactions` assets."""

import json

import dagster as dg

from pkg_assets_tests.conftest import _env
from pkg_assets.resources.warehouse import open_folder_warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _metadata(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    return event.materialization.metadata


def test_products_and_interactions_metadata_count_every_decision(tmp_path):
    from pkg_assets.definitions import make_definitions

    catalog = tmp_path / "shop.jsonl"
    rows = [
        {"product_id": "K1", "title": "Steel Kettle &amp; <b>Lid</b>", "price": "$20.00", "category_path": "Home > Kitchen"},
        {"product_id": "K2", "title": "Tea Mug", "price": "#x{color:red}", "category_path": "Home > Kitchen"},
        {"product_id": "K3", "title": "Tea Pot", "price": 1e308 * 10, "category_path": "Home > Kitchen"},
        {"product_id": "K4", "title": "Cup", "price": 3, "brand": "<br>", "category_path": "Home > Kitchen"},
        {"product_id": "K5", "title": "Saucer", "price": 2, "category_path": "Home > Kitchen"},
        {"product_id": "K6", "title": "Teaspoon", "price": 1, "category_path": "Home > Kitchen"},
        {"product_id": "K7", "title": "\u200b\u200c", "category_path": "Home > Kitchen"},
        {"product_id": "K8", "title": '<span class="a-size-medium a-color-secondary"', "category_path": "Home > Kitchen"},
        {"product_id": "G1", "title": "Garden Hose", "category_path": [["Home", "Garden"], ["Sale"]]},
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(3, '{"product_id": "K9", "title": "Tray"')  # line 4: cut short
    catalog.write_text("\n".join(lines) + "\n")
    events = tmp_path / "events.csv"
    events.write_text("user,item,when\n" + "\n".join([
        "u1,K2,1500000300", "u1,K1,1500000000", "u2,K1,1500000000", "u2,G1,yesterday", "u2,K4,1500000900",
        "u3,K7,1500000000", "u3,K5,1e30x",
    ]) + "\n")
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_INTERACTIONS_PATH": str(events),
           "PKG_INTERACTIONS_COLUMNS": "user_id=user,product_id=item,ts=when", "PKG_DATA_DIR": str(tmp_path / "data")}
    instance = dg.DagsterInstance.ephemeral()
    with _env(env):
        defs = make_definitions()
        assert defs.resources["catalog"].categories() == ["Garden", "Kitchen"]  # unreadable lines are no partition
        instance.add_dynamic_partitions("category", ["Garden", "Kitchen"])
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("products")})
        kitchen = job.execute_in_process(instance=instance, partition_key="Kitchen", run_config=QUIET)
        garden = job.execute_in_process(instance=instance, partition_key="Garden", run_config=QUIET)
        interactions = defs.resolve_job_def("interactions_job").execute_in_process(instance=instance, run_config=QUIET)

    # A list of category paths: the first one names the partition, and the choice is counted.
    assert _metadata(garden, "products")["decision_counts"].value == {"category_path cleaned: first of 2 paths": 1}
    products = _metadata(kitchen, "products")
    assert products["dagster/row_count"].value == 6
    assert products["rejected_rows"].value == 2 and products["unreadable_lines"].value == 1
    assert products["values_nulled"].value == 3
    assert products["decision_counts"].value == {
        "price nulled: not a number": 1, "price nulled: out of range": 1, "brand nulled: markup only": 1,
        "title cleaned: entities + markup": 1,
    }
    reasons = products["rejected_by_reason"].value
    assert "| empty title | 1 |" in reasons and "| title is markup | 1 |" in reasons
    table = products["parse_decisions"].value
    assert "| price | 4 | 0 | 0 | 2 (1 not a number, 1 out of range) |" in table
    assert "| title | 6 | 0 | 1 | 0 |" in table and "| description | 0 | 6 | 0 | 0 |" in table
    assert products["reader"].value["format"] == "jsonl"

    events_meta = _metadata(interactions, "interactions")
    assert events_meta["timestamps"].value == "Unix seconds (detected)"
    assert events_meta["dagster/row_count"].value == 6 and events_meta["rejected_rows"].value == 1
    assert events_meta["decision_counts"].value == {"ts nulled: unreadable timestamp": 2}

    with open_folder_warehouse(tmp_path / "data") as conn:
        flags = dict(conn.execute("SELECT product_id, parse_flags FROM products WHERE parse_flags IS NOT NULL").fetchall())
        assert set(flags) == {"K2", "K3", "K4"} and flags["K3"].startswith("price: out of range")
        rejected = conn.execute("SELECT category, source_line, reason FROM products_rejected ORDER BY source_line").fetchall()
        assert rejected == [("(unreadable lines)", 4, rejected[0][2]), ("Kitchen", 8, "empty title (only invisible characters)"),
                            ("Kitchen", 9, "title is markup")]
        assert rejected[0][2].startswith("not JSON")
        order = conn.execute("SELECT product_id FROM interactions WHERE user_id = 'u1' ORDER BY position").fetchall()
        assert order == [("K1",), ("K2",)]  # by time, not by file order
        quarantined = conn.execute("SELECT reason, source_line FROM interactions_rejected ORDER BY source_line").fetchall()
        assert quarantined == [("product not in catalog", 7)]  # K7 was quarantined as a product
        nulled = conn.execute("SELECT product_id, parse_flags FROM interactions WHERE parse_flags IS NOT NULL "
                              "ORDER BY product_id").fetchall()
        assert nulled == [("G1", "ts: unreadable timestamp ('yesterday')"),
                          ("K5", "ts: unreadable timestamp ('1e30x')")]


def test_a_legacy_header_less_latin1_catalog_and_truncated_gzip_events_through_the_assets(tmp_path):
    import gzip

    from pkg_assets.definitions import make_definitions

    catalog = tmp_path / "legacy.txt"
    catalog.write_bytes("A&amp;B|Crème brûlée torch|Kitchen/Tools\nA&B|Café bowl|Kitchen/Tableware\n"
                        "C1|Tea cup|Kitchen/Tableware\nC2|Spoon|Kitchen/Tableware\n".encode("latin-1"))
    lines = [json.dumps({"reviewerID": f"u{i % 2}", "asin": pid, "unixReviewTime": 1_500_000_000_000 - i * 1000})
             for i, pid in enumerate(["A&amp;B", "A&B", "C1", "C2"] * 50)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    events = tmp_path / "reviews.json.gz"
    events.write_bytes(data[: len(data) - 40])  # the download stopped early
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_CATALOG_FORMAT": "csv", "PKG_CATALOG_SEP": "|",
           "PKG_CATALOG_ENCODING": "latin-1", "PKG_CATALOG_NAMES": "product_id,title,category_path",
           "PKG_CATEGORY_SEP": "/", "PKG_CATEGORY_LEVEL": "1",
           "PKG_INTERACTIONS_PATH": str(events), "PKG_DATA_DIR": str(tmp_path / "data")}
    instance = dg.DagsterInstance.ephemeral()
    with _env(env):
        defs = make_definitions()
        assert defs.resources["catalog"].categories() == ["Kitchen"]
        instance.add_dynamic_partitions("category", ["Kitchen"])
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("products")})
        kitchen = job.execute_in_process(instance=instance, partition_key="Kitchen", run_config=QUIET)
        interactions = defs.resolve_job_def("interactions_job").execute_in_process(instance=instance, run_config=QUIET)

    products = _metadata(kitchen, "products")
    assert products["dagster/row_count"].value == 4  # "A&amp;B" and "A&B" are two products
    assert products["decision_counts"].value == {"product_id kept byte-exact: differs from its display form": 1}
    assert products["reader"].value["separator"] == "'|' (set)" and products["reader"].value["encoding"] == "latin-1"
    events_meta = _metadata(interactions, "interactions")
    assert events_meta["timestamps"].value == "Unix milliseconds (detected)"
    assert events_meta["rejected_rows"].value == 1
    assert "truncated file: the compressed stream ends early" in events_meta["rejected_by_reason"].value
    assert 150 < events_meta["dagster/row_count"].value < 200
    with open_folder_warehouse(tmp_path / "data") as conn:
        titles = dict(conn.execute("SELECT product_id, title FROM products").fetchall())
        assert titles["A&amp;B"] == "Crème brûlée torch" and titles["A&B"] == "Café bowl"
        assert conn.execute("SELECT count(DISTINCT product_id) FROM interactions").fetchall() == [(4,)]
