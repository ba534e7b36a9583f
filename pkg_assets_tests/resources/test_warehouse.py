"""The warehouse migrates additively: a warehouse made by an older version keeps working."""

import duckdb

from pkg_assets.resources.warehouse import ensure_tables


def test_columns_a_newer_ddl_declares_are_added_to_an_older_table(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as conn:  # products as the previous release created it
        conn.execute("CREATE TABLE products (product_id VARCHAR NOT NULL, title VARCHAR NOT NULL, brand VARCHAR, "
                     "price DOUBLE, category_path VARCHAR, category VARCHAR NOT NULL, description VARCHAR, "
                     "content_hash VARCHAR NOT NULL, source_file VARCHAR, ingested_at TIMESTAMP)")
        conn.execute("INSERT INTO products VALUES ('P1', 'Old row', NULL, NULL, 'A > B', 'B', '', 'h', 'f', NULL)")
        ensure_tables(conn)
        ensure_tables(conn)  # idempotent
        columns = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = 'products'").fetchall()}
        assert {"product_type", "type_form", "audience"} <= columns
        assert conn.execute("SELECT title, product_type FROM products").fetchall() == [("Old row", None)]
