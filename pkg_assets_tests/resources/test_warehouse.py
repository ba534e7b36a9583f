"""The warehouse migrates additively (a warehouse made by an older version keeps working) and
retries only the commits another writer got in the way of."""

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


def test_only_another_writers_commit_is_retried():
    """A commit another writer got in the way of runs again; any other failed commit is raised
    at once (a full disk must not be retried for ten minutes)."""
    from pkg_assets.resources.warehouse import is_write_conflict

    locked = duckdb.TransactionException("TransactionContext Error: Failed to commit: Failed to commit DuckLake "
                                         "transaction.\nFailed to flush changes into DuckLake: database is locked")
    conflict = duckdb.TransactionException("Transaction conflict - attempting to delete from a data file that "
                                           "another transaction deleted from")
    full = duckdb.TransactionException("TransactionContext Error: Failed to commit: Failed to commit DuckLake "
                                       "transaction.\nIO Error: No space left on device")
    assert is_write_conflict(locked) and is_write_conflict(conflict)
    assert not is_write_conflict(full)
    assert not is_write_conflict(duckdb.BinderException("Referenced column not found"))
