"""Where things live. Every path can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEMO_DIR = PACKAGE_DIR / "data" / "demo"
DEMO_RECORDINGS = DEMO_DIR / "recordings.jsonl"
DEFAULT_MODEL = "replay/demo"
# The code location's name in `dg dev` ([tool.dg.project] in pyproject.toml) and in
# workspace.yaml; runs the CLI makes carry it, so the UI lists them under their jobs.
CODE_LOCATION = "pkg_assets"


def sql_dir() -> Path:
    return Path(os.environ.get("PKG_SQL_DIR", PROJECT_DIR / "sql"))


def expectations_dir() -> Path:
    return Path(os.environ.get("PKG_EXPECTATIONS_DIR", PROJECT_DIR / "expectations"))


def data_dir() -> Path:
    return Path(os.environ.get("PKG_DATA_DIR", PROJECT_DIR / ".pkg_data")).expanduser()


def warehouse_catalog() -> str:
    """The DuckLake catalog database: by default a SQLite file under the data directory (several
    local processes write at once); `postgres://user@host/db` when runs span machines."""
    return os.environ.get("PKG_WAREHOUSE_CATALOG", "").strip() or f"sqlite:{data_dir() / 'warehouse.sqlite'}"


def warehouse_data_path() -> str:
    """Where the warehouse's Parquet files live: under the data directory by default; shared
    storage (a mounted volume, or an object-store URL DuckDB can write) when runs span machines."""
    return os.environ.get("PKG_WAREHOUSE_DATA", "").strip() or str(data_dir() / "lake")


def threads() -> int | None:
    """PKG_THREADS: threads per process for torch, BLAS and DuckDB (None: every core)."""
    value = os.environ.get("PKG_THREADS", "").strip()
    return max(1, int(value)) if value else None


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit per connection (its default is 80% of the machine's RAM, per process)."""
    return os.environ.get("PKG_DUCKDB_MEMORY_LIMIT", "").strip() or "2GB"


def duckdb_temp_directory() -> str:
    """Where DuckDB spills what does not fit in its memory limit."""
    return os.environ.get("PKG_DUCKDB_TEMP_DIR", "").strip() or str(data_dir() / "duckdb_tmp")


def legacy_warehouse_path() -> Path:
    """The single-file warehouse of releases before DuckLake (never read or removed; see warehouse.py)."""
    return data_dir() / "warehouse.duckdb"


def snapshot_path() -> Path:
    return Path(os.environ.get("PKG_SNAPSHOT", data_dir() / "snapshot" / "pkg.duckdb")).expanduser()


def catalog_path() -> str:
    return os.environ.get("PKG_CATALOG_PATH", str(DEMO_DIR))
