"""The warehouse: a DuckLake (DuckDB's lakehouse format), SQL files from `sql/`, and atomic
per-partition writes.

Why DuckLake: one DuckDB file takes one writer process, so category runs queued behind each
other and a second machine could not help. A DuckLake keeps each table's rows in Parquet files
under a data path and its catalog (snapshots, files, schemas) in a database that gives ACID
transactions to several writers at once: a SQLite file by default (several local processes),
PostgreSQL when runs span machines (`PKG_WAREHOUSE_CATALOG=postgres://...`). Writers of
different categories never wait for each other: per-category tables are partitioned by
`category` in DuckLake itself, so replacing one category deletes only that category's files,
and DuckLake settles concurrent commits that do not touch the same files. A commit that does
conflict (or finds the SQLite catalog busy) is run again whole (`write_transaction`). The
published serving snapshot stays one read-only DuckDB file (defs/graph/assets.py).

Assets never build DDL by string concatenation: table definitions live in
`sql/tables/<table>.sql` and derived tables in `sql/<table>.sql`. Writes replace one
partition (or one whole table) inside a single transaction, so a failed step leaves the
previous rows in place.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import tenacity
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pkg_assets import settings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LAKE = "warehouse"  # the catalog name the lake is attached under; every connection USEs it
# Tables are partitioned in the lake by the first of these they have (the ledger's is
# `partition`): one category's rows in files of their own, so category writers don't conflict.
PARTITION_COLUMNS = ("category", "partition")
log = logging.getLogger(__name__)
T = TypeVar("T")


# ------------------------------------------------------------------------------ connecting


class WarehouseConfigError(ValueError):
    """PKG_WAREHOUSE_CATALOG (or the resource's `catalog`) names no catalog we can attach."""


def ducklake_uri(catalog: str) -> str:
    """The ATTACH string for a catalog setting: `sqlite:PATH` (the default), `postgres://...` /
    `postgresql://...` (a libpq URI: runs on several machines), `duckdb:PATH` (one process only)."""
    catalog = catalog.strip()
    if catalog.startswith(("postgres://", "postgresql://")):
        return f"ducklake:postgres:{catalog}"
    for prefix in ("postgres:", "sqlite:", "duckdb:"):
        if catalog.startswith(prefix):
            rest = catalog[len(prefix):]
            if not rest:
                break
            return f"ducklake:{rest}" if prefix == "duckdb:" else f"ducklake:{prefix}{rest}"
    else:
        if catalog.endswith((".sqlite", ".db")):
            return f"ducklake:sqlite:{catalog}"
    raise WarehouseConfigError(
        f"PKG_WAREHOUSE_CATALOG={catalog!r} is not a warehouse catalog: use sqlite:PATH (the default, "
        "several local processes), postgres://user@host/db (runs on several machines) or duckdb:PATH (one process)")


def catalog_file(catalog: str) -> Path | None:
    """The local file of a sqlite: or duckdb: catalog (None for PostgreSQL)."""
    uri = ducklake_uri(catalog)
    if uri.startswith("ducklake:postgres:"):
        return None
    return Path(uri.removeprefix("ducklake:").removeprefix("sqlite:")).expanduser()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@functools.lru_cache(maxsize=1)
def extension_directory() -> str:
    """A DuckDB extension directory holding the DuckDB-signed binaries that pip installed
    (duckdb-extension-ducklake, -sqlite, -postgres), so they load offline by name.

    The packages put each binary at `<package>/extensions/v<version>/<name>.duckdb_extension`,
    but DuckDB looks for `<dir>/v<version>/<platform>/<extension>.duckdb_extension` and
    derives the entry point from the file name (sqlite's is `sqlite_scanner`): links with
    those names, in a per-user folder, are all it takes."""
    import duckdb_extension_ducklake
    import duckdb_extension_postgres
    import duckdb_extension_sqlite

    with duckdb.connect() as probe:
        platform = probe.execute("SELECT platform FROM pragma_platform()").fetchall()[0][0]
    root = Path(tempfile.gettempdir()) / f"pkg-assets-duckdb-extensions-{os.getuid()}"
    folder = root / f"v{duckdb.__version__}" / platform
    folder.mkdir(parents=True, exist_ok=True)
    for package, name in ((duckdb_extension_ducklake, "ducklake"), (duckdb_extension_sqlite, "sqlite_scanner"),
                          (duckdb_extension_postgres, "postgres_scanner")):
        found = glob.glob(str(Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}" / "*.duckdb_extension"))
        if not found:
            raise RuntimeError(f"{package.__name__} has no extension binary for duckdb {duckdb.__version__}: "
                               "reinstall the project (pip install -e .) so the versions match")
        link = folder / f"{name}.duckdb_extension"
        if not (link.is_symlink() and os.readlink(link) == found[0]):
            temp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}"
            temp.unlink(missing_ok=True)
            temp.symlink_to(found[0])
            os.replace(temp, link)  # atomic: a concurrent process sees the old link or the new one
    return str(root)


def is_write_conflict(exc: BaseException) -> bool:
    """A commit another writer got in the way of: run the transaction again."""
    if not isinstance(exc, (duckdb.TransactionException, duckdb.IOException, duckdb.CatalogException,
                            duckdb.ConstraintException)):
        return False
    # Only what another writer causes: any other failed commit (a full disk, say) is raised at
    # once rather than retried for the whole patience.
    text = str(exc).lower()
    return any(s in text for s in ("conflict", "database is locked", "database table is locked", "busy",
                                   "could not set lock"))


def retry_conflicts(fn: Callable[[], T], patience_s: float = 600.0) -> T:
    """`fn()`, run again after a write conflict (jittered backoff, up to `patience_s`): how an
    optimistic-concurrency store is written to. Any other error is raised at once."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_write_conflict),
        wait=tenacity.wait_random_exponential(multiplier=0.05, max=2.0),
        stop=tenacity.stop_after_delay(patience_s),
        reraise=True,
        before_sleep=lambda state: log.debug("warehouse write conflict, retrying: %s", state.outcome.exception()),
    )
    return retrying(fn)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, rolled back on any error (a failed COMMIT has already ended it)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise


def write_transaction(conn: duckdb.DuckDBPyConnection, body: Callable[[], T]) -> T:
    """Run `body` in one transaction, the whole transaction again after a write conflict."""
    def attempt() -> T:
        with transaction(conn):
            return body()
    return retry_conflicts(attempt)


class _Lake:
    """One DuckDB instance per process and warehouse, with the lake attached; connections are
    its cursors. Why not a new instance per connection: attaching loads two extensions and
    reads the catalog (about 150 ms), and the ledger commits every quarter second."""

    _lock = threading.Lock()
    _open: dict[tuple, duckdb.DuckDBPyConnection] = {}

    @classmethod
    def instance(cls, catalog: str, data_path: str, config: dict) -> duckdb.DuckDBPyConnection:
        key = (catalog, data_path, tuple(sorted(config.items())))
        with cls._lock:
            if key not in cls._open:
                cls._open[key] = cls._attach(catalog, data_path, config)
            return cls._open[key]

    @staticmethod
    def _attach(catalog: str, data_path: str, config: dict) -> duckdb.DuckDBPyConnection:
        uri = ducklake_uri(catalog)
        local = catalog_file(catalog)
        if local is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
        if "://" not in data_path:
            Path(data_path).mkdir(parents=True, exist_ok=True)
        if config.get("temp_directory"):
            Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                  "extension_directory": extension_directory(), **config})
        options = [f"DATA_PATH {_quote(data_path.rstrip('/') + '/')}"]
        if uri.startswith("ducklake:sqlite:"):
            # WAL: readers never wait for a writer; a writer waits up to 60 s for another's commit.
            options += ["META_JOURNAL_MODE 'wal'", "META_BUSY_TIMEOUT 60000"]
        try:
            retry_conflicts(lambda: conn.execute(f"ATTACH {_quote(uri)} AS {LAKE} ({', '.join(options)})"))
        except duckdb.Error as exc:
            conn.close()
            raise WarehouseConfigError(f"could not open the warehouse catalog {catalog} "
                                       f"(data path {data_path}): {exc}") from exc
        return conn


def connection_settings(memory_limit: str | None = None, temp_directory: str | None = None) -> dict:
    """DuckDB's settings for the warehouse's instance: an explicit memory limit (DuckDB's own
    default is 80% of the machine, in every process) and a place to spill beyond it."""
    config = {"memory_limit": memory_limit or settings.duckdb_memory_limit(),
              "temp_directory": temp_directory or settings.duckdb_temp_directory()}
    if settings.threads():
        config["threads"] = settings.threads()
    return config


@contextmanager
def open_warehouse(catalog: str | None = None, data_path: str | None = None, ensure: bool = True,
                   config: dict | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse (the environment's, unless given), its tables ensured,
    closed after the block. Readers never block writers, and writers of different categories
    never block each other."""
    catalog = catalog or settings.warehouse_catalog()
    data_path = data_path or settings.warehouse_data_path()
    instance = _Lake.instance(catalog, data_path, config or connection_settings())
    conn = instance.cursor()
    try:
        conn.execute(f"USE {LAKE}")
        if ensure:
            ensure_tables(conn)
        yield conn
    finally:
        conn.close()


def folder_lake(folder: str | Path) -> tuple[str, str]:
    """(catalog, data path) of a warehouse kept whole in one folder: `warehouse.sqlite` and `lake/`
    (the default layout under PKG_DATA_DIR)."""
    folder = Path(folder)
    return f"sqlite:{folder / 'warehouse.sqlite'}", str(folder / "lake")


@contextmanager
def open_folder_warehouse(folder: str | Path, ensure: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """`open_warehouse` on the warehouse in `folder` (a data directory)."""
    catalog, data_path = folder_lake(folder)
    with open_warehouse(catalog, data_path, ensure=ensure,
                        config=connection_settings(temp_directory=str(Path(folder) / "duckdb_tmp"))) as conn:
        yield conn


def copy_warehouse(source_folder: str | Path, target_folder: str | Path) -> None:
    """Copy the warehouse in one data directory into a new one, with DuckDB's own COPY FROM
    DATABASE (a lake's catalog records its data path, so its files cannot simply be copied)."""
    catalog, data_path = folder_lake(target_folder)
    Path(data_path).mkdir(parents=True, exist_ok=True)
    with open_folder_warehouse(source_folder) as source:
        source.execute(f"ATTACH {_quote(ducklake_uri(catalog))} AS copy_target "
                       f"(DATA_PATH {_quote(data_path + '/')}, META_JOURNAL_MODE 'wal', META_BUSY_TIMEOUT 60000)")
        try:
            source.execute(f"COPY FROM DATABASE {LAKE} TO copy_target")
        finally:
            source.execute("DETACH copy_target")


def warehouse_exists(catalog: str | None = None) -> bool:
    """Whether the warehouse has been created (a PostgreSQL catalog is assumed to be)."""
    local = catalog_file(catalog or settings.warehouse_catalog())
    return local is None or local.exists()


def describe_warehouse(catalog: str | None = None, data_path: str | None = None) -> str:
    return f"{catalog or settings.warehouse_catalog()} (data {data_path or settings.warehouse_data_path()})"


def first_row(conn: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple | None:
    """The first row of a query, with the result fully consumed (DuckDB 2 refused new
    statements on a connection whose last result `fetchone()` left unfinished)."""
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
    newer DDL file declares to a table an older version created (idempotent; one transaction,
    run again if another process creates the same tables at the same moment).

    Only additive changes migrate by themselves: a new column is added (NULL in old rows,
    filled when its asset is next materialised). A changed or dropped column is left alone.
    A new table with a `category` (or `partition`) column is partitioned by it in the lake, so
    each category's rows live in files of their own and category writers do not conflict.
    """
    ddls = [path.read_text() for path in sorted((settings.sql_dir() / "tables").glob("*.sql"))]
    wanted = {table: columns for ddl in ddls for table, columns in _declared_columns(ddl).items()}
    present = _present_columns(conn)  # once: this runs on every connection
    if all({name for name, _ in columns} <= present.get(table, set()) for table, columns in wanted.items()):
        return  # the common case: nothing to write, no transaction

    def create() -> None:
        before = _present_columns(conn)
        for ddl in ddls:
            conn.execute(ddl)
        present = _present_columns(conn)
        for table, columns in wanted.items():
            for name, sql_type in columns:
                if name not in present.get(table, set()):
                    conn.execute(f'ALTER TABLE {_check_identifier(table)} ADD COLUMN "{name}" {sql_type}')
            partition = next((c for c in PARTITION_COLUMNS if c in {name for name, _ in columns}), None)
            if table not in before and partition is not None and _is_lake(conn):
                conn.execute(f"ALTER TABLE {_check_identifier(table)} SET PARTITIONED BY ({partition})")
    write_transaction(conn, create)


def _present_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    present: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = current_schema()").fetchall():
        present.setdefault(table, set()).add(column)
    return present


def _is_lake(conn: duckdb.DuckDBPyConnection) -> bool:
    return scalar(conn, "SELECT type FROM duckdb_databases() WHERE database_name = current_database()") == "ducklake"


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


def vector_array(matrix: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """A frame column of fixed-size float32 vectors for a `FLOAT[]` column: one contiguous
    buffer, not a Python list per row (an object column of 12k MiniLM vectors took 118 MB for
    18 MB of floats). DuckLake has no `FLOAT[N]` type, so the warehouse stores `FLOAT[]`."""
    import pyarrow as pa

    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    width = matrix.shape[1] if matrix.ndim == 2 else 0
    return pd.arrays.ArrowExtensionArray(pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), width))


def vector_matrix(conn: duckdb.DuckDBPyConnection, sql: str, params=None,
                  column: str = "embedding") -> tuple[pd.DataFrame, np.ndarray]:
    """Run `sql`; (the other columns as a frame, `column` as an (n, d) float32 matrix).

    Read through Arrow, so the vectors arrive as one flat buffer. Refuses vectors of unequal
    length (a mix of models) rather than guess."""
    import pyarrow.compute as pc

    table = conn.execute(sql, params or []).to_arrow_table()
    lists = table.column(column).combine_chunks()
    frame = table.drop_columns([column]).to_pandas()
    if len(lists) == 0:
        return frame, np.zeros((0, 0), dtype=np.float32)
    lengths = pc.list_value_length(lists)
    width, widest = pc.min(lengths).as_py(), pc.max(lengths).as_py()
    if width != widest or lists.null_count:
        raise ValueError(f"{column}: vectors of unequal length ({width}..{widest}) or missing; "
                         "were two embedding models mixed?")
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    return frame, flat.astype(np.float32, copy=False).reshape(len(lists), width)


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

    def replace() -> None:
        conn.execute(f"DELETE FROM {table} WHERE {partition_column} = ?", [partition_value])
        if not frame.empty:
            conn.execute(_insert_sql(table, view))
    with registered(conn, view, frame):
        write_transaction(conn, replace)
    return len(frame)


def append_rows(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Insert `frame` into `table` in one transaction (run again after a commit conflict)."""
    table = _check_identifier(table)
    if frame.empty:
        return 0
    view = f"_incoming_{table}"
    with registered(conn, view, frame):
        write_transaction(conn, lambda: conn.execute(_insert_sql(table, view)))
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
        "WHERE t.table_type = 'BASE TABLE' AND c.table_catalog = current_database() "
        "AND c.table_schema = current_schema() GROUP BY c.table_name ORDER BY 1"
    ).fetchall()
    keep = current[["product_id", "category"]].drop_duplicates()
    live = pd.DataFrame({"category": sorted(set(keep["category"]) | set(categories or ()))})

    def reconcile() -> dict[str, int]:
        deleted: dict[str, int] = {}
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
        return deleted
    with registered(conn, "_catalog_now", keep), registered(conn, "_categories_now", live):
        return write_transaction(conn, reconcile)


def replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None = None,
                  select_sql: str | None = None, params: dict | None = None) -> int:
    """Replace a whole table's rows with a frame or the result of a SELECT, atomically."""
    table = _check_identifier(table)
    view = f"_incoming_{table}"

    def replace() -> None:
        conn.execute(f"DELETE FROM {table}")
        if frame is not None and not frame.empty:
            conn.execute(_insert_sql(table, view))
        if select_sql is not None:
            conn.execute(f"INSERT INTO {table} BY NAME {select_sql}", params or {})
    with registered(conn, view, frame):
        write_transaction(conn, replace)
    return scalar(conn, f"SELECT count(*) FROM {table}")


# ------------------------------------------------------------------------------ resource


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource on the warehouse lake: `database` is the session's own
    in-memory database, `connection_config` carries the memory limit and spill folder, and
    the lake (`catalog`, `data_path`) is attached to it with every table in sql/tables.
    Empty fields mean the environment's settings (PKG_WAREHOUSE_CATALOG, PKG_WAREHOUSE_DATA,
    PKG_DUCKDB_MEMORY_LIMIT, PKG_DUCKDB_TEMP_DIR)."""

    database: str = ":memory:"
    catalog: str = Field(default="", description="DuckLake catalog: sqlite:PATH, postgres://user@host/db or duckdb:PATH")
    data_path: str = Field(default="", description="where the lake's Parquet files live")

    @classmethod
    def in_folder(cls, folder: str | Path) -> "WarehouseResource":
        """A warehouse of its own in `folder` (tests, benchmarks, scratch runs)."""
        folder = Path(folder)
        return cls(catalog=f"sqlite:{folder / 'warehouse.sqlite'}", data_path=str(folder / "lake"),
                   connection_config=connection_settings(temp_directory=str(folder / "duckdb_tmp")))

    def _settings(self) -> tuple[str, str, dict]:
        return (self.catalog or settings.warehouse_catalog(), self.data_path or settings.warehouse_data_path(),
                {**connection_settings(), **self.connection_config})

    def describe(self) -> str:
        catalog, data_path, _ = self._settings()
        return describe_warehouse(catalog, data_path)

    @contextmanager
    def connect(self):
        catalog, data_path, config = self._settings()
        with open_warehouse(catalog, data_path, config=config) as conn:
            yield conn

    @contextmanager
    def connect_briefly(self):
        """A connection for one short transaction (a ledger group commit). No table checks:
        `connect()` made them."""
        catalog, data_path, config = self._settings()
        with open_warehouse(catalog, data_path, ensure=False, config=config) as conn:
            yield conn


def behaviour_for_pairs(conn: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> pd.DataFrame:
    """Behavioural evidence (core/cooccurrence.py) for distinct (head_id, tail_id) pairs against
    the table or view `interactions`: head_id, tail_id, support, lift, neighbourhood, head_users.

    DuckDB codes the interactions as integers (sql/behaviour_*.sql) in one read-only
    transaction, so the matrix and the pairs' codes come from the same snapshot; scipy does
    the rest."""
    from pkg_assets.core.cooccurrence import pair_evidence

    pairs = pairs[["head_id", "tail_id"]].drop_duplicates().reset_index(drop=True)
    with registered(conn, "gate_pairs", pairs):
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql_text("behaviour_item_codes"))
            n_items = scalar(conn, "SELECT count(*) FROM behaviour_item_codes")
            matrix = conn.execute(sql_text("behaviour_matrix")).fetchnumpy()
            coded = conn.execute(sql_text("behaviour_pair_codes")).df()
        finally:
            conn.execute("ROLLBACK")  # read only; the temporary code table goes with it
    evidence = pair_evidence(matrix["user"], matrix["item"], n_items, coded["head"].to_numpy(),
                             coded["tail"].to_numpy())
    return pd.DataFrame({"head_id": coded["head_id"], "tail_id": coded["tail_id"], "support": evidence.support,
                         "lift": evidence.lift, "neighbourhood": evidence.neighbourhood,
                         "head_users": evidence.head_users})


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
            f"the warehouse {describe_warehouse()} was built from the catalog {held}, not {wanted}. "
            "One catalog, one warehouse: give this catalog its own PKG_DATA_DIR and DAGSTER_HOME "
            "(`pkg-demo --catalog PATH` does so by itself), or replace the warehouse's catalog with "
            "`pkg-demo --replace` (or PKG_REPLACE_WAREHOUSE=1 for runs from the UI)")
    def record() -> None:
        conn.execute("DELETE FROM warehouse_info WHERE key = 'catalog_path'")
        conn.execute("INSERT INTO warehouse_info VALUES ('catalog_path', ?, now())", [wanted])
    write_transaction(conn, record)
    return held


def replace_requested() -> bool:
    import os

    return os.environ.get("PKG_REPLACE_WAREHOUSE", "").strip().lower() in {"1", "true", "yes"}
