"""The DuckDB warehouse: SQL files from `sql/`, and atomic per-partition writes.

Assets never build DDL by string concatenation: table definitions live in
`sql/tables/<table>.sql` and derived tables in `sql/<table>.sql`. Writes replace one
partition (or one whole table) inside a single transaction, so a failed step leaves the
previous rows in place.
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from pkg_assets import settings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def first_row(conn: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple | None:
    """The first row of a query, with the result fully consumed.

    DuckDB 2 refuses new statements on a connection whose last result is unfinished, and
    `fetchone()` leaves it unfinished: always read results whole.
    """
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params=None):
    row = first_row(conn, sql, params)
    return None if row is None else row[0]


def sql_text(name: str) -> str:
    path = settings.sql_dir() / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"SQL file {path} not found (PKG_SQL_DIR={settings.sql_dir()})")
    return path.read_text()


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every table in `sql/tables/` that does not exist yet, and add the columns a
    newer DDL file declares to a table an older version created (idempotent).

    Only additive changes migrate by themselves: a new column is added (NULL in old rows,
    filled when its asset is next materialised). A changed or dropped column is left alone.
    """
    ddls = [path.read_text() for path in sorted((settings.sql_dir() / "tables").glob("*.sql"))]
    for ddl in ddls:
        conn.execute(ddl)
    present: dict[str, set[str]] = {}
    for table, column in conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                      "WHERE table_schema = current_schema()").fetchall():
        present.setdefault(table, set()).add(column)
    for ddl in ddls:
        for table, columns in _declared_columns(ddl).items():
            for name, sql_type in columns:
                if name not in present.get(table, set()):
                    conn.execute(f'ALTER TABLE {_check_identifier(table)} ADD COLUMN "{name}" {sql_type}')


@functools.lru_cache(maxsize=256)
def _declared_columns(ddl: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each table a DDL file creates, with its columns and types: DuckDB parses the file in a
    scratch in-memory database, so no DDL is parsed by hand here."""
    with duckdb.connect() as scratch:
        scratch.execute(ddl)
        rows = scratch.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()
    declared: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        declared.setdefault(table, []).append((column, data_type))
    return {table: tuple(columns) for table, columns in declared.items()}


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame | None):
    """Expose a frame to SQL for the duration of a block (outside any transaction)."""
    if frame is None:
        yield
        return
    conn.register(name, frame)
    try:
        yield
    finally:
        conn.unregister(name)


def _insert_sql(table: str, view: str) -> str:
    return f"INSERT INTO {table} BY NAME SELECT * FROM {view}"


def replace_partition(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    partition_value: str,
    partition_column: str = "category",
) -> int:
    """Delete one partition's rows and insert `frame` in one transaction. Returns rows written."""
    table, partition_column = _check_identifier(table), _check_identifier(partition_column)
    if not frame.empty and not (frame[partition_column] == partition_value).all():
        raise ValueError(f"{table}: frame holds rows outside partition {partition_value!r}")
    view = f"_incoming_{table}"
    with registered(conn, view, frame):
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(f"DELETE FROM {table} WHERE {partition_column} = ?", [partition_value])
            if not frame.empty:
                conn.execute(_insert_sql(table, view))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(frame)


def reconcile_catalog(conn: duckdb.DuckDBPyConnection, current: pd.DataFrame,
                      categories: set[str] | None = None) -> dict[str, int]:
    """Make every per-category table agree with the catalog as it is now (`current`: one row
    per product with its `product_id` and `category`; `categories`, when given, also counts
    categories whose rows were all quarantined), in one transaction:

    - a category the catalog no longer has (renamed, emptied) leaves every table with a
      `category` column;
    - a product that left the catalog, or moved to another category, leaves the per-product
      rows of its old category (tables keyed by `product_id` or `head_id` plus `category`).

    The LLM ledger is never touched: answers paid for stay, and a renamed category's products
    are answered from it. Returns rows deleted per table (only tables that lost rows)."""
    tables = conn.execute(
        "SELECT c.table_name, list(c.column_name) FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND c.table_schema = 'main' GROUP BY c.table_name ORDER BY 1"
    ).fetchall()
    keep = current[["product_id", "category"]].drop_duplicates()
    live = pd.DataFrame({"category": sorted(set(keep["category"]) | set(categories or ()))})
    deleted: dict[str, int] = {}
    with registered(conn, "_catalog_now", keep), registered(conn, "_categories_now", live):
        conn.execute("BEGIN TRANSACTION")
        try:
            for table, columns in tables:
                if "category" not in columns or table == "llm_calls":
                    continue
                table = _check_identifier(table)
                before = conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                conn.execute(f"DELETE FROM {table} WHERE category NOT IN (SELECT category FROM _categories_now)")
                key = next((c for c in ("product_id", "head_id") if c in columns), None)
                if key is not None and table != "products_rejected":  # quarantined rows are not products
                    conn.execute(f"DELETE FROM {table} WHERE ({key}, category) NOT IN "
                                 "(SELECT (product_id, category) FROM _catalog_now)")
                after = conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                if before != after:
                    deleted[table] = before - after
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return deleted


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None = None,
                  select_sql: str | None = None, params: dict | None = None) -> int:
    """Replace a whole table's rows with a frame or the result of a SELECT, atomically."""
    table = _check_identifier(table)
    view = f"_incoming_{table}"
    with registered(conn, view, frame):
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(f"DELETE FROM {table}")
            if frame is not None and not frame.empty:
                conn.execute(_insert_sql(table, view))
            if select_sql is not None:
                conn.execute(f"INSERT INTO {table} BY NAME {select_sql}", params or {})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return scalar(conn, f"SELECT count(*) FROM {table}")


# ------------------------------------------------------------------------------ resource


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource, plus: the folder exists, every table in sql/tables does,
    and the connection is closed even when the block raises."""

    @contextmanager
    def connect(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        # DuckDBResource.get_connection (dagster-duckdb 0.29) closes its connection only on a
        # clean exit; after an exception the file stayed open in this process, and the next
        # connection with another configuration (a read-only reader) was refused.
        connection_manager = self.get_connection()
        conn = connection_manager.__enter__()
        try:
            ensure_tables(conn)
            yield conn
        finally:
            conn.close()

    @contextmanager
    def connect_briefly(self):
        """A connection for one short transaction (a ledger group commit), closed at once so
        DuckDB's single-writer lock is free again. No table checks: `connect()` made them."""
        with self.get_connection() as conn:
            try:
                yield conn
            finally:
                conn.close()


def behaviour_for_pairs(conn: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """sql/gate_behavior_support.sql for (head_id, tail_id) pairs against the table or view `interactions`."""
    pairs = pairs[["head_id", "tail_id"]].drop_duplicates()
    with registered(conn, "gate_pairs", pairs):
        return conn.execute(sql_text("gate_behavior_support")).df()


class WarehouseCatalogMismatch(ValueError):
    """The warehouse was built from another catalog."""


def catalog_identity(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def claim_catalog(conn: duckdb.DuckDBPyConnection, catalog_path: str | Path, replace: bool = False) -> str | None:
    """Record the catalog this warehouse is built from, or refuse another one.

    Two catalogs in one warehouse mix their partitions, their ledger answers and their graph
    (and `reconcile_catalog` would delete the first one's rows). Returns the catalog the
    warehouse held before when `replace` switched it, else None."""
    wanted = catalog_identity(catalog_path)
    held = scalar(conn, "SELECT value FROM warehouse_info WHERE key = 'catalog_path'")
    if held == wanted:
        return None
    if held is not None and not replace:
        raise WarehouseCatalogMismatch(
            f"the warehouse {settings.warehouse_path()} was built from the catalog {held}, not {wanted}. "
            "One catalog, one warehouse: give this catalog its own PKG_DATA_DIR and DAGSTER_HOME "
            "(`pkg-demo --catalog PATH` does so by itself), or replace the warehouse's catalog with "
            "`pkg-demo --replace` (or PKG_REPLACE_WAREHOUSE=1 for runs from the UI)")
    conn.execute("INSERT OR REPLACE INTO warehouse_info VALUES ('catalog_path', ?, now())", [wanted])
    return held


def replace_requested() -> bool:
    import os

    return os.environ.get("PKG_REPLACE_WAREHOUSE", "").strip().lower() in {"1", "true", "yes"}
